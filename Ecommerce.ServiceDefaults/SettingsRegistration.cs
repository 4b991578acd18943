using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Ecommerce.ServiceDefaults;

/// <summary>The one way the services bind a configuration section: options, checked when the host starts.</summary>
public static class SettingsRegistration
{
    /// <summary>
    /// Binds <typeparamref name="T"/> to the section <paramref name="sectionName"/> as <see cref="IOptions{T}"/>,
    /// checked with <see cref="ISettings.Validate"/> by <see cref="CheckSettings"/> (and, failing that, when the host
    /// starts), so a wrong setting stops the service before it does anything.
    /// </summary>
    public static OptionsBuilder<T> AddSettings<T>(this IHostApplicationBuilder builder, string sectionName)
        where T : class, ISettings
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddSingleton<IValidateOptions<T>, SettingsValidator<T>>();
        builder.Services.AddSettingsCheck(services => Bound(() => services.GetRequiredService<IOptions<T>>().Value));
        return builder.Services.AddOptions<T>().BindConfiguration(sectionName).ValidateOnStart();
    }

    /// <summary>Adds a check <see cref="CheckSettings"/> runs: one that builds what settings describe (a key, a file).</summary>
    public static IServiceCollection AddSettingsCheck(this IServiceCollection services, Action<IServiceProvider> check) =>
        services.AddSingleton(new SettingsCheck(check));

    /// <summary>
    /// Runs every settings check right after the app is built, before the host starts: a wrong setting then throws
    /// <see cref="OptionsValidationException"/> or <see cref="InvalidConfigurationException"/> to Program.cs, which
    /// prints its one line, instead of failing the host's start, which logs it with a stack trace.
    /// </summary>
    public static void CheckSettings(this IServiceProvider services)
    {
        foreach (var check in services.GetServices<SettingsCheck>())
        {
            check.Run(services);
        }
    }

    /// <summary>
    /// Runs a binding, turning the binder's own complaint (a value that does not convert, such as
    /// <c>Ingestion:MaxBatchDelay=fast</c>; its message names the key) into a configuration error.
    /// </summary>
    public static TResult Bound<TResult>(Func<TResult> bind)
    {
        ArgumentNullException.ThrowIfNull(bind);
        try
        {
            return bind();
        }
        catch (InvalidOperationException ex) when (ex is not InvalidConfigurationException)
        {
            throw new InvalidConfigurationException(ex.Message, ex);
        }
    }

    private sealed record SettingsCheck(Action<IServiceProvider> Run);

    private sealed class SettingsValidator<T> : IValidateOptions<T>
        where T : class, ISettings
    {
        public ValidateOptionsResult Validate(string? name, T options)
        {
            try
            {
                options.Validate();
                return ValidateOptionsResult.Success;
            }
            catch (InvalidConfigurationException ex)
            {
                return ValidateOptionsResult.Fail(ex.Message);
            }
        }
    }
}
