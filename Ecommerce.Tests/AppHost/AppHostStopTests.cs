using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;
using DuckDB.NET.Data;
using Ecommerce.Testing;
using TempDirectory = Ecommerce.Tests.Infrastructure.TempDirectory;

namespace Ecommerce.Tests.AppHost;

/// <summary>
/// The AppHost as a process, stopped the way a user stops it: SIGTERM (what Ctrl-C amounts to; the services run
/// in the orchestrator's own session, so only the AppHost gets the signal).
/// </summary>
public sealed class AppHostStopTests
{
    // The services listen on the ports of their launch profiles when the AppHost runs them.
    private static readonly Uri Consumer = new("http://localhost:5190");

    [Fact]
    public async Task On_SIGTERM_the_services_stop_before_the_AppHost_and_its_embedded_broker_and_the_warehouse_is_checkpointed()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        using var directory = new TempDirectory();
        var warehouse = directory.File("ecommerce.duckdb");
        var kafkaPort = ServiceProcess.FreePort();
        await using var appHost = ServiceProcess.StartAppHost(
            ["--Kafka:Mode=embedded", $"--Kafka:Port={kafkaPort}", $"--Warehouse:Path={warehouse}", "--Simulator:Rate=200"]);
        using var http = new HttpClient { BaseAddress = Consumer, Timeout = TimeSpan.FromSeconds(5) };

        // Running for real: orders are being ingested (the first-run backfill and then the live ones).
        long ingested = 0;
        while (ingested < 1_000)
        {
            Assert.False(appHost.HasExited, $"The AppHost exited with code {(appHost.HasExited ? appHost.ExitCode : 0)}:\n{appHost.Output}");
            timeout.Token.ThrowIfCancellationRequested();
            ingested = await IngestedAsync(http, timeout.Token) ?? 0;
            await Task.Delay(250, timeout.Token);
        }

        var services = ServiceProcessesOf(kafkaPort);
        Assert.Equal(2, services.Count);

        var stopping = Stopwatch.StartNew();
        await appHost.StopAsync(TimeSpan.FromSeconds(60));
        var stopped = stopping.Elapsed;

        // The broker lived in the AppHost, so services still running now would have outlived it.
        var survivors = services.Where(pid => Directory.Exists($"/proc/{pid}")).ToList();
        Assert.True(survivors.Count == 0, $"Still running after the AppHost exited: {string.Join(", ", survivors)}\n{appHost.Output}");
        Assert.Equal(0, appHost.ExitCode);
        Assert.Contains("Stopped consumer, producer before the broker and the dashboard", appHost.Output, StringComparison.Ordinal);

        // Nothing here uses HTTPS, so no warning (and no red banner on the dashboard) about a development certificate.
        Assert.DoesNotContain("development certificate", appHost.Output, StringComparison.OrdinalIgnoreCase);

        // Closed cleanly: DuckDB folded its write-ahead log into the file, and every order reported ingested is there.
        Assert.False(File.Exists(warehouse + ".wal"), $"The ingestion service left a write-ahead log: it was killed, not stopped (stop took {stopped}).");
        await using var connection = new DuckDBConnection($"Data Source={warehouse};ACCESS_MODE=READ_ONLY");
        await connection.OpenAsync(timeout.Token);
        await using var count = connection.CreateCommand();
        count.CommandText = "SELECT COUNT(*) FROM FACT_ORDERS";
        Assert.True((long)(await count.ExecuteScalarAsync(timeout.Token))! >= ingested);
    }

    private static async Task<long?> IngestedAsync(HttpClient http, CancellationToken cancellationToken)
    {
        try
        {
            var status = await http.GetFromJsonAsync<JsonElement>("/api/ingestion/status", cancellationToken);
            return status.GetProperty("ingested").GetInt64();
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
        {
            return null; // Not started yet.
        }
    }

    /// <summary>
    /// The simulator and the ingestion service of this test's AppHost: the service processes (not their
    /// <c>dotnet run</c> launchers) given this test's broker, found in /proc since the orchestrator started them.
    /// </summary>
    private static List<int> ServiceProcessesOf(int kafkaPort)
    {
        var broker = $"ConnectionStrings__kafka=127.0.0.1:{kafkaPort}\0";
        var pids = new List<int>();
        foreach (var entry in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(entry), out var pid))
            {
                continue;
            }

            try
            {
                var commandLine = File.ReadAllText(Path.Combine(entry, "cmdline"));
                var environment = File.ReadAllText(Path.Combine(entry, "environ"));
                if ((commandLine.Contains("Ecommerce.Consumer", StringComparison.Ordinal) || commandLine.Contains("Ecommerce.Producer", StringComparison.Ordinal))
                    && !commandLine.StartsWith("dotnet\0run", StringComparison.Ordinal)
                    && environment.Contains(broker, StringComparison.Ordinal))
                {
                    pids.Add(pid);
                }
            }
            catch (IOException)
            {
                // Gone meanwhile.
            }
            catch (UnauthorizedAccessException)
            {
                // Someone else's.
            }
        }

        return pids;
    }
}
