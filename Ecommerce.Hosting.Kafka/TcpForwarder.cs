using System.Net;
using System.Net.Sockets;

namespace Ecommerce.Hosting.Kafka;

/// <summary>
/// Accepts connections on a fixed loopback port and relays bytes to and from a target port. The mock brokers
/// listen on ephemeral ports only; this gives clients the stable address (127.0.0.1:9092) they expect.
/// </summary>
internal sealed class TcpForwarder : IAsyncDisposable
{
    private readonly TcpListener _listener;
    private readonly IPEndPoint _target;
    private readonly CancellationTokenSource _stopping = new();
    private readonly List<Task> _connections = [];
    private readonly Task _acceptLoop;

    public TcpForwarder(int listenPort, IPEndPoint target)
    {
        _target = target;
        _listener = new TcpListener(IPAddress.Loopback, listenPort);
        _listener.Server.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        // The mock broker's own backlog is 5; ours is not the bottleneck when many clients connect at once.
        _listener.Start(backlog: 128);
        _acceptLoop = AcceptAsync(_stopping.Token);
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    private async Task AcceptAsync(CancellationToken stopping)
    {
        while (!stopping.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _listener.AcceptSocketAsync(stopping);
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }

            lock (_connections)
            {
                _connections.RemoveAll(task => task.IsCompleted);
                _connections.Add(RelayAsync(client, stopping));
            }
        }
    }

    private async Task RelayAsync(Socket client, CancellationToken stopping)
    {
        using var _ = client;
        using var upstream = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        // Kafka requests are small and latency-sensitive; never let Nagle hold them back.
        client.NoDelay = true;
        upstream.NoDelay = true;
        try
        {
            await upstream.ConnectAsync(_target, stopping);
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(stopping);
            await using var clientStream = new NetworkStream(client, ownsSocket: false);
            await using var upstreamStream = new NetworkStream(upstream, ownsSocket: false);
            var toBroker = clientStream.CopyToAsync(upstreamStream, linked.Token);
            var toClient = upstreamStream.CopyToAsync(clientStream, linked.Token);
            // When either side closes, close both: a half-open Kafka connection is of no use to anyone.
            await Task.WhenAny(toBroker, toClient);
            await linked.CancelAsync();
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException or SocketException or ObjectDisposedException)
        {
            // A client or the broker went away; nothing to do but drop the pair.
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        _listener.Stop();
        Task[] pending;
        lock (_connections)
        {
            pending = [.. _connections, _acceptLoop];
        }

        await Task.WhenAll(pending).WaitAsync(TimeSpan.FromSeconds(5)).ContinueWith(_ => { }, TaskScheduler.Default);
        _stopping.Dispose();
    }
}
