using System.ComponentModel;
using System.Diagnostics;

namespace Ecommerce.Hosting.Kafka;

/// <summary>
/// Asks the container runtime Aspire would use whether its engine answers. A Docker client without an engine
/// (common on CI machines) fails here in a second, instead of Aspire timing out on the container later.
/// </summary>
public static class ContainerRuntimeProbe
{
    public static bool IsAvailable(out string reason)
    {
        var runtime = Environment.GetEnvironmentVariable("ASPIRE_CONTAINER_RUNTIME") is { Length: > 0 } configured
            ? configured
            : "docker";
        try
        {
            using var process = Process.Start(new ProcessStartInfo(runtime, "info --format {{.ServerVersion}}")
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            });
            if (process is null)
            {
                reason = $"'{runtime}' could not be started";
                return false;
            }

            if (!process.WaitForExit(TimeSpan.FromSeconds(10)))
            {
                process.Kill(entireProcessTree: true);
                reason = $"'{runtime} info' did not answer within 10 s";
                return false;
            }

            var version = process.StandardOutput.ReadToEnd().Trim();
            if (process.ExitCode == 0 && version.Length > 0)
            {
                reason = $"{runtime} engine {version} answered";
                return true;
            }

            var error = process.StandardError.ReadToEnd().Trim().Split('\n').FirstOrDefault() ?? "";
            reason = $"'{runtime} info' failed ({error})";
            return false;
        }
        catch (Win32Exception)
        {
            reason = $"no '{runtime}' command is installed";
            return false;
        }
    }
}
