namespace Ecommerce.Producer.Simulation;

public sealed record Product(string Id, string Name, string Category, decimal Price);
