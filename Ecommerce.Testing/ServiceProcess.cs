using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace Ecommerce.Testing;

/// <summary>
/// One of the solution's services running as a real process, the way a user starts it standalone:
/// <c>dotnet Ecommerce.X.dll --urls ...</c> with configuration in environment variables. The test owns the process
/// and stops it by PID (SIGTERM for a graceful stop, SIGKILL for a crash); its output is kept for failure messages.
/// </summary>
public sealed class ServiceProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private ServiceProcess(Process process, Uri baseAddress)
    {
        _process = process;
        BaseAddress = baseAddress;
        Http = new HttpClient { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(10) };
    }

    public Uri BaseAddress { get; }

    public HttpClient Http { get; }

    public int Id => _process.Id;

    public bool HasExited => _process.HasExited;

    public int ExitCode => _process.ExitCode;

    /// <summary>Everything the process wrote so far; all of it once the process has exited.</summary>
    public string Output
    {
        get
        {
            if (_process.HasExited)
            {
                _process.WaitForExit(); // Also waits for the last lines of redirected output to be read.
            }

            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    public static ServiceProcess Start(string project, IReadOnlyDictionary<string, string?> environment)
    {
        var baseAddress = new Uri($"http://127.0.0.1:{FreePort()}");
        var production = new Dictionary<string, string?>
        {
            ["DOTNET_ENVIRONMENT"] = "Production",
            ["ASPNETCORE_ENVIRONMENT"] = "Production",
        };
        return Launch(project, ["--urls", baseAddress.ToString()], baseAddress, production.Concat(environment));
    }

    /// <summary>
    /// The AppHost as a process, the way <c>dotnet run --project Ecommerce.AppHost</c> runs it (its launch profile's
    /// settings), with the dashboard on free ports; <see cref="BaseAddress"/> is the dashboard. The services it starts
    /// listen on the ports of their own launch profiles.
    /// </summary>
    public static ServiceProcess StartAppHost(IEnumerable<string> arguments)
    {
        var dashboard = new Uri($"http://127.0.0.1:{FreePort()}");
        var environment = new Dictionary<string, string?>
        {
            ["DOTNET_ENVIRONMENT"] = "Development",
            ["ASPNETCORE_ENVIRONMENT"] = "Development",
            ["ASPNETCORE_URLS"] = dashboard.ToString(),
            ["ASPIRE_ALLOW_UNSECURED_TRANSPORT"] = "true",
            ["ASPIRE_DASHBOARD_OTLP_ENDPOINT_URL"] = $"http://127.0.0.1:{FreePort()}",
            ["ASPIRE_RESOURCE_SERVICE_ENDPOINT_URL"] = $"http://127.0.0.1:{FreePort()}",
        };
        return Launch("Ecommerce.AppHost", arguments, dashboard, environment);
    }

    private static ServiceProcess Launch(
        string project, IEnumerable<string> arguments, Uri baseAddress, IEnumerable<KeyValuePair<string, string?>> environment)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Path.GetDirectoryName(ServiceAssembly(project))!,
        };
        start.ArgumentList.Add(ServiceAssembly(project));
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment["Logging__Console__FormatterName"] = "simple";
        foreach (var key in start.Environment.Keys.Where(k => k.StartsWith("OTEL_", StringComparison.Ordinal)).ToList())
        {
            start.Environment.Remove(key);
        }

        foreach (var (key, value) in environment)
        {
            start.Environment[key] = value;
        }

        var process = new Process { StartInfo = start, EnableRaisingEvents = true };
        var service = new ServiceProcess(process, baseAddress);
        process.OutputDataReceived += (_, e) => service.Append(e.Data);
        process.ErrorDataReceived += (_, e) => service.Append(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return service;
    }

    /// <summary>Waits until /health answers 200, failing early (with the output) if the process exits.</summary>
    public async Task WaitUntilHealthyAsync(TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"The service exited with code {_process.ExitCode} before it was healthy:\n{Output}");
            }

            try
            {
                using var response = await Http.GetAsync(new Uri("/health", UriKind.Relative));
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }
            catch (TaskCanceledException)
            {
                // Slow to answer while starting.
            }

            await Task.Delay(200);
        }

        throw new TimeoutException($"The service was not healthy within {timeout}:\n{Output}");
    }

    /// <summary>The /health report, whatever its status (Unhealthy answers 503).</summary>
    public async Task<JsonElement> GetHealthAsync()
    {
        using var response = await Http.GetAsync(new Uri("/health", UriKind.Relative));
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    public async Task<JsonElement> GetJsonAsync(string path)
    {
        using var response = await Http.GetAsync(new Uri(path, UriKind.Relative));
        response.EnsureSuccessStatusCode();
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    /// <summary>Polls until <paramref name="condition"/> holds for the status document, or fails with the output.</summary>
    public async Task<JsonElement> WaitForStatusAsync(string path, Func<JsonElement, bool> condition, TimeSpan timeout, string what)
    {
        var deadline = DateTime.UtcNow + timeout;
        JsonElement last = default;
        while (DateTime.UtcNow < deadline)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"The service exited with code {_process.ExitCode} while waiting for {what}:\n{Output}");
            }

            try
            {
                last = await GetJsonAsync(path);
                if (condition(last))
                {
                    return last;
                }
            }
            catch (HttpRequestException)
            {
            }
            catch (TaskCanceledException)
            {
            }

            await Task.Delay(200);
        }

        throw new TimeoutException($"Timed out waiting for {what}; last status: {last}\n{Output}");
    }

    /// <summary>Waits until the service's output contains <paramref name="text"/>, or fails with the output.</summary>
    public async Task WaitForOutputAsync(string text, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!Output.Contains(text, StringComparison.Ordinal))
        {
            if (DateTime.UtcNow > deadline || _process.HasExited)
            {
                throw new TimeoutException($"The service did not write \"{text}\" within {timeout}:\n{Output}");
            }

            await Task.Delay(200);
        }
    }

    public Task WaitForExitAsync(CancellationToken cancellationToken) => _process.WaitForExitAsync(cancellationToken);

    /// <summary>SIGTERM, as a service manager stops a service, then waits for the process to exit.</summary>
    public async Task StopAsync(TimeSpan timeout)
    {
        if (_process.HasExited)
        {
            return;
        }

        Signal("TERM");
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            Kill();
            throw new TimeoutException($"The service did not stop within {timeout} of SIGTERM:\n{Output}");
        }
    }

    /// <summary>
    /// SIGKILL: the process dies at once, mid-whatever, like a crash or an OOM kill. What it started goes too (the
    /// AppHost's orchestrator and services, when a test fails half-way), so nothing is left to load the machine or
    /// hold ports for the tests after it; a service started here has no children of its own.
    /// </summary>
    public void Kill()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit(10_000);
        }
    }

    public async ValueTask DisposeAsync()
    {
        Kill();
        Http.Dispose();
        await Task.Yield();
        _process.Dispose();
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            _output.AppendLine(line);
        }
    }

    private void Signal(string signal)
    {
        using var kill = Process.Start("kill", $"-{signal} {_process.Id}");
        kill.WaitForExit();
    }

    private static string ServiceAssembly(string project)
    {
        // Each service runs from its own build output, of the same configuration as the code running this.
        var here = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        var framework = here.Name;
        var configuration = here.Parent!.Name;
        var path = Path.Combine(RepositoryRoot.Find(), project, "bin", configuration, framework, $"{project}.dll");
        return File.Exists(path) ? path : throw new FileNotFoundException($"Build {project} first; {path} is missing.", path);
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
