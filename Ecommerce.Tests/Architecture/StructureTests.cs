using System.Reflection;
using System.Text.RegularExpressions;
using Ecommerce.Testing;

namespace Ecommerce.Tests.Architecture;

/// <summary>
/// The structure README's architecture section describes, kept true: layers that only look down, and every public
/// type in a file of its name.
/// </summary>
[Trait("Category", "Fast")]
public sealed partial class StructureTests
{
    /// <summary>Each folder of the ingestion service, and the folders of it that it may use.</summary>
    public static TheoryData<string, string[]> Layers => new()
    {
        { "Orders", ["Orders"] },
        { "Warehouse", ["Orders", "Warehouse"] },
        { "Ingestion", ["Orders", "Warehouse", "Ingestion"] },
        { "Analytics", ["Warehouse", "Analytics"] },
        { "DeadLetters", ["Ingestion", "DeadLetters"] },
    };

    [Theory]
    [MemberData(nameof(Layers))]
    public void A_layer_of_the_ingestion_service_uses_only_the_layers_below_it(string layer, string[] allowed)
    {
        // Written out in full, or (inside namespace Ecommerce.Consumer.X) from the parent namespace, as Ingestion.Y.
        var offending = SourceFiles(Path.Combine("Ecommerce.Consumer", layer))
            .SelectMany(file => ConsumerNamespaceUse().Matches(File.ReadAllText(file)).Concat(SiblingNamespaceUse().Matches(File.ReadAllText(file)))
                .Select(m => (File: Path.GetFileName(file), Layer: m.Groups["layer"].Value)))
            .Where(use => !allowed.Contains(use.Layer))
            .Select(use => $"{use.File} uses {use.Layer}")
            .Distinct()
            .ToList();

        Assert.True(offending.Count == 0, $"{layer} may use only {string.Join(", ", allowed)}: {string.Join("; ", offending)}");
    }

    [Theory]
    [InlineData("Ecommerce.Consumer")]
    [InlineData("Ecommerce.Producer")]
    [InlineData("Ecommerce.ServiceDefaults")]
    [InlineData("Ecommerce.Hosting.Kafka")]
    [InlineData("Ecommerce.AppHost")]
    [InlineData("Ecommerce.Testing")]
    public void Every_public_type_is_in_a_file_of_its_name(string project)
    {
        var files = SourceFiles(project).Select(Path.GetFileNameWithoutExtension).ToHashSet(StringComparer.Ordinal);
        var assembly = Assembly.Load(project);
        var misplaced = assembly.GetExportedTypes()
            .Where(t => !t.IsNested && t.Namespace?.StartsWith("Ecommerce", StringComparison.Ordinal) == true
                && t.GetCustomAttribute<System.Runtime.CompilerServices.CompilerGeneratedAttribute>() is null)
            .Select(t => t.Name.Split('`')[0])
            .Where(name => !files.Contains(name))
            .Order(StringComparer.Ordinal)
            .ToList();

        Assert.True(misplaced.Count == 0, $"{project}: no file named for {string.Join(", ", misplaced)}");
    }

    private static IEnumerable<string> SourceFiles(string folder)
    {
        return Directory.EnumerateFiles(Path.Combine(RepositoryRoot.Find(), folder), "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                && !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal));
    }

    [GeneratedRegex(@"\bEcommerce\.Consumer\.(?<layer>[A-Za-z]+)")]
    private static partial Regex ConsumerNamespaceUse();

    // A folder's name followed by a type, not after a dot (so batch.Orders.Count is a property, not the Orders folder).
    [GeneratedRegex(@"(?<![\w.])(?<layer>Orders|Warehouse|Ingestion|Analytics|DeadLetters)\.[A-Z]\w*")]
    private static partial Regex SiblingNamespaceUse();

    [Fact]
    public void The_ingestion_service_adds_no_global_using_that_would_hide_a_layers_use()
    {
        var project = File.ReadAllText(SourceFiles("Ecommerce.Consumer").First(f => f.EndsWith("Program.cs", StringComparison.Ordinal))
            .Replace("Program.cs", "Ecommerce.Consumer.csproj", StringComparison.Ordinal));
        Assert.DoesNotMatch(@"<Using\s+Include=""Ecommerce\.Consumer", project);
        Assert.DoesNotContain(SourceFiles("Ecommerce.Consumer"), file => File.ReadAllText(file).Contains("global using Ecommerce.Consumer", StringComparison.Ordinal));
    }
}
