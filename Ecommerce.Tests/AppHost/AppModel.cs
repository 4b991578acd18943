using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;

namespace Ecommerce.Tests.AppHost;

/// <summary>The AppHost's application model, built but not started, and what its resources would be given.</summary>
internal static class AppModel
{
    private static readonly TimeSpan Patience = TimeSpan.FromMinutes(1);

    /// <summary>The model the AppHost builds from these command-line settings.</summary>
    public static async Task<IDistributedApplicationTestingBuilder> BuildAsync(params string[] args)
    {
        using var timeout = new CancellationTokenSource(Patience);
        return await DistributedApplicationTestingBuilder.CreateAsync<Projects.Ecommerce_AppHost>(args, timeout.Token);
    }

    /// <summary>The environment variables a resource's callbacks produce for a run (those <paramref name="include"/> keeps).</summary>
    public static async Task<Dictionary<string, string?>> EnvironmentAsync(IResource resource, Func<string, bool>? include = null)
    {
        var context = new EnvironmentCallbackContext(new DistributedApplicationExecutionContext(DistributedApplicationOperation.Run));
        foreach (var callback in resource.Annotations.OfType<EnvironmentCallbackAnnotation>())
        {
            await callback.Callback(context);
        }

        var environment = new Dictionary<string, string?>();
        foreach (var (key, value) in context.EnvironmentVariables.Where(v => include?.Invoke(v.Key) ?? true))
        {
            environment[key] = value is IValueProvider provider ? await provider.GetValueAsync(CancellationToken.None) : value?.ToString();
        }

        return environment;
    }
}
