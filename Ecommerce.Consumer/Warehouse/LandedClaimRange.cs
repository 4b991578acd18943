namespace Ecommerce.Consumer.Warehouse;

/// <summary>
/// Landed rows of one landing and partition at consecutive offsets, <paramref name="FirstOffset"/> to
/// <paramref name="LastOffset"/>, that a modelling transaction takes with one outcome: how its claims are staged
/// (see <see cref="LandedClaim.Ranges"/>).
/// </summary>
public sealed record LandedClaimRange(string LandingId, string Topic, int Partition, long FirstOffset, long LastOffset, string Outcome);
