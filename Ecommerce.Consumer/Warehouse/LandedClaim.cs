using Ecommerce.Consumer.Orders;

namespace Ecommerce.Consumer.Warehouse;

/// <summary>A landed row a modelling transaction takes (by its landing and source position), and what it made of it.</summary>
public sealed record LandedClaim(string LandingId, IncomingOrder Order, string Outcome)
{
    public const string New = "NEW";
    public const string Duplicate = "DUPLICATE";
    public const string Conflict = "CONFLICT";

    public SourcePosition Source => Order.Source;
}
