namespace Ecommerce.Benchmarks.Scenarios;

/// <summary>What one type took of the bytes a steady-state run allocated per order.</summary>
public sealed record TypeAllocation(string Type, double BytesPerOrder);
