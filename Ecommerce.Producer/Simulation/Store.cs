using Bogus;

namespace Ecommerce.Producer.Simulation;

/// <summary>
/// The simulated store: a product catalog across categories with plausible prices, and a customer population.
/// Everything is drawn from one seeded <see cref="Randomizer"/>, so a seed reproduces the same store.
/// </summary>
public sealed class Store
{
    public static readonly string[] Regions = ["North", "South", "East", "West", "Central"];

    // Category, price range and the nouns its products are named after.
    private static readonly (string Category, decimal Min, decimal Max, string[] Nouns)[] Departments =
    [
        ("Electronics", 15m, 1500m, ["Headphones", "Laptop", "Smartphone", "Monitor", "Keyboard", "Speaker", "Tablet", "Camera"]),
        ("Books", 6m, 60m, ["Novel", "Cookbook", "Atlas", "Biography", "Guide", "Anthology", "Textbook", "Comic"]),
        ("Home & Kitchen", 8m, 450m, ["Blender", "Kettle", "Pan", "Lamp", "Rug", "Knife Set", "Toaster", "Vase"]),
        ("Clothing", 9m, 220m, ["Jacket", "Sweater", "Jeans", "Dress", "Scarf", "Sneakers", "Shirt", "Coat"]),
        ("Sports & Outdoors", 10m, 700m, ["Tent", "Bicycle", "Yoga Mat", "Backpack", "Dumbbells", "Helmet", "Ball", "Skis"]),
        ("Toys & Games", 5m, 160m, ["Puzzle", "Board Game", "Robot", "Doll", "Kite", "Building Set", "Drone", "Card Game"]),
        ("Beauty", 4m, 130m, ["Perfume", "Serum", "Lipstick", "Shampoo", "Face Cream", "Hair Dryer", "Nail Kit", "Mask"]),
        ("Grocery", 1.5m, 45m, ["Coffee", "Tea", "Olive Oil", "Chocolate", "Honey", "Pasta", "Granola", "Spices"]),
    ];

    public Store(Randomizer random, int customerCount)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(customerCount, 1);
        var faker = new Faker { Random = random };

        var products = new List<Product>();
        foreach (var (category, min, max, nouns) in Departments)
        {
            foreach (var noun in nouns)
            {
                var name = $"{faker.Commerce.ProductAdjective()} {noun}";
                products.Add(new Product($"P{products.Count + 1:D4}", name, category, PlausiblePrice(random, min, max)));
            }
        }

        Products = products;
        Customers = Enumerable.Range(1, customerCount)
            .Select(i => new Customer($"C{i:D6}", faker.Name.FullName(), random.ArrayElement(Regions)))
            .ToArray();
    }

    public IReadOnlyList<Product> Products { get; }

    public IReadOnlyList<Customer> Customers { get; }

    public static IReadOnlyList<string> Categories { get; } = Departments.Select(d => d.Category).ToArray();

    /// <summary>Log-uniform in the range (cheap items are more common), ending in .99 like shop prices do.</summary>
    private static decimal PlausiblePrice(Randomizer random, decimal min, decimal max)
    {
        var logMin = Math.Log((double)min);
        var logMax = Math.Log((double)max);
        var raw = Math.Exp(logMin + (random.Double() * (logMax - logMin)));
        return Math.Max(0.99m, Math.Floor((decimal)raw) + 0.99m);
    }
}
