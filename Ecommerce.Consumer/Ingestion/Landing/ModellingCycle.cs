using Ecommerce.Consumer.Warehouse;

namespace Ecommerce.Consumer.Ingestion.Landing;

/// <summary>
/// A modelling cycle read, planned and prepared by <see cref="LandedOrderModeller.PrepareAsync"/>, its transaction not
/// yet run: run it with <see cref="LandedOrderModeller.WriteAsync"/>, or <see cref="Discard"/> it.
/// </summary>
public sealed class ModellingCycle
{
    internal ModellingCycle(int count, BatchPlan plan, PreparedWrite write, object?[][] bounds)
    {
        Count = count;
        Plan = plan;
        Write = write;
        Bounds = bounds;
    }

    /// <summary>How many landed rows the cycle takes.</summary>
    public int Count { get; }

    internal BatchPlan Plan { get; }

    internal PreparedWrite Write { get; }

    /// <summary>Per partition, the last landed row the cycle takes: topic, partition, offset, landing id.</summary>
    internal object?[][] Bounds { get; }

    /// <summary>Gives the cycle up unrun (what it staged is let go).</summary>
    public void Discard() => Write.Discard();
}
