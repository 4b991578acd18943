namespace Ecommerce.Producer.Simulation;

/// <summary>A customer as the store knows them now; name and region change over time.</summary>
public sealed class Customer(string id, string name, string region)
{
    public string Id { get; } = id;
    public string Name { get; set; } = name;
    public string Region { get; set; } = region;
}
