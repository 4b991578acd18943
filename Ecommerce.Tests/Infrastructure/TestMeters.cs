using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;

namespace Ecommerce.Tests.Infrastructure;

/// <summary>
/// A meter factory for the pieces tests build by hand, as the host's container would give them one. Dispose it with
/// its owner: its meters (and the gauges that observe a test's state) go with it.
/// </summary>
public sealed class TestMeters : IDisposable
{
    private readonly ServiceProvider _services = new ServiceCollection().AddMetrics().BuildServiceProvider();

    public TestMeters() => Factory = _services.GetRequiredService<IMeterFactory>();

    /// <summary>One for the whole run, for clients whose instruments hold no state of a test.</summary>
    public static IMeterFactory Shared { get; } = new TestMeters().Factory;

    public IMeterFactory Factory { get; }

    public void Dispose() => _services.Dispose();
}
