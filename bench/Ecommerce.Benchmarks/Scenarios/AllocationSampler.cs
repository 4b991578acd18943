using System.Diagnostics.Tracing;
using Microsoft.Diagnostics.NETCore.Client;
using Microsoft.Diagnostics.Tracing;
using Microsoft.Diagnostics.Tracing.Parsers;
using Microsoft.Diagnostics.Tracing.Parsers.Clr;

namespace Ecommerce.Benchmarks.Scenarios;

/// <summary>
/// What a process allocates, by type: an EventPipe session on it with the runtime's allocation ticks (the GC raises one
/// each time about 100 KB has been allocated, naming the type of the object that crossed the mark), summed by type
/// until <see cref="StopAsync"/>. A sample, not a count: a type's share of the ticks estimates its share of the bytes,
/// and the ticks' cost to the process is a few hundred events a second.
/// </summary>
public sealed class AllocationSampler : IAsyncDisposable
{
    private readonly EventPipeSession _session;
    private readonly Task _reading;
    private readonly Dictionary<string, long> _bytesByType = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();

    private AllocationSampler(EventPipeSession session)
    {
        _session = session;
        _reading = Task.Run(() =>
        {
            using var source = new EventPipeEventSource(session.EventStream);
            source.Clr.GCAllocationTick += OnTick;
            source.Process();
        });
    }

    /// <summary>
    /// Starts sampling the process <paramref name="pid"/> (a .NET process of the same user); null when its diagnostics
    /// port does not answer (DOTNET_EnableDiagnostics=0), so that the figures that do not need it are still measured.
    /// </summary>
    public static AllocationSampler? TryStart(int pid)
    {
        try
        {
            return new(new DiagnosticsClient(pid).StartEventPipeSession(
                [new EventPipeProvider("Microsoft-Windows-DotNETRuntime", EventLevel.Verbose, (long)ClrTraceEventParser.Keywords.GC)],
                requestRundown: false));
        }
        catch (Exception ex) when (ex is ServerNotAvailableException or UnsupportedCommandException or ServerErrorException)
        {
            return null;
        }
    }

    /// <summary>Stops sampling; returns each type's estimated share of the bytes allocated meanwhile (0 to 1), largest first.</summary>
    public async Task<IReadOnlyList<(string Type, double Share)>> StopAsync()
    {
        await _session.StopAsync(CancellationToken.None);
        await _reading.WaitAsync(TimeSpan.FromSeconds(30));
        lock (_gate)
        {
            var total = (double)Math.Max(1, _bytesByType.Values.Sum());
            return _bytesByType.OrderByDescending(t => t.Value).Select(t => (t.Key, t.Value / total)).ToArray();
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await _session.StopAsync(CancellationToken.None);
        }
        catch (Exception ex) when (ex is ServerNotAvailableException or EndOfStreamException or IOException or ObjectDisposedException)
        {
            // Stopped already, or the process has ended.
        }

        _session.Dispose();
    }

    private void OnTick(GCAllocationTickTraceData tick)
    {
        lock (_gate)
        {
            var type = string.IsNullOrEmpty(tick.TypeName) ? "(unnamed)" : tick.TypeName;
            _bytesByType[type] = _bytesByType.GetValueOrDefault(type) + tick.AllocationAmount64;
        }
    }
}
