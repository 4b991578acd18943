namespace Ecommerce.ServiceDefaults;

/// <summary>A configuration section's settings, bound with <see cref="SettingsRegistration.AddSettings{T}"/>.</summary>
public interface ISettings
{
    /// <summary>Throws <see cref="InvalidConfigurationException"/>, naming the key, for the first setting that is wrong.</summary>
    void Validate();
}
