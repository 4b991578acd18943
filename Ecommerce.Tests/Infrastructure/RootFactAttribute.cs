namespace Ecommerce.Tests.Infrastructure;

/// <summary>
/// A test that needs root on Linux (it mounts a small tmpfs to make a disk fill up). Elsewhere it is reported as
/// skipped with that reason, never as passed.
/// </summary>
public sealed class RootFactAttribute : FactAttribute
{
    public RootFactAttribute()
    {
        if (!OperatingSystem.IsLinux() || Environment.UserName != "root")
        {
            Skip = "Needs root on Linux, to mount a tmpfs of a few MiB that the warehouse fills up.";
        }
    }
}
