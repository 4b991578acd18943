namespace Ecommerce.Tests.Infrastructure;

/// <summary>
/// A test that drives a real headless Chromium (Debian's <c>chromium</c> package, or <c>ECOMMERCE_CHROMIUM</c>). Without
/// one it is reported as skipped with that reason, never as passed; where a browser is required
/// (<c>ECOMMERCE_REQUIRE_BROWSER=1</c>, as <c>.ci/run</c> sets after installing it) it runs, and fails if none starts.
/// </summary>
public sealed class BrowserFactAttribute : FactAttribute
{
    public static string ExecutablePath => Environment.GetEnvironmentVariable("ECOMMERCE_CHROMIUM") is { Length: > 0 } path ? path : "/usr/bin/chromium";

    public BrowserFactAttribute()
    {
        if (!File.Exists(ExecutablePath) && Environment.GetEnvironmentVariable("ECOMMERCE_REQUIRE_BROWSER") != "1")
        {
            Skip = $"Needs Chromium at {ExecutablePath} (apt-get install chromium, or set ECOMMERCE_CHROMIUM).";
        }
    }
}
