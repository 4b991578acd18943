using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;

namespace Ecommerce.Tests.Infrastructure;

/// <summary>A meter factory for the pieces tests build by hand, as the host's container would give them one.</summary>
public static class TestMeters
{
    public static IMeterFactory Factory { get; } = new ServiceCollection().AddMetrics().BuildServiceProvider().GetRequiredService<IMeterFactory>();
}
