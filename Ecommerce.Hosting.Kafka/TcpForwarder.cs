using System.Net;
using System.Net.Sockets;

namespace Ecommerce.Hosting.Kafka;

/// <summary>
/// Accepts connections on a fixed loopback port and relays bytes to and from a target port. The mock brokers
/// listen on ephemeral ports only; this gives clients the stable address (127.0.0.1:9092) they expect.
/// <para>
/// When a client closes its connection, the broker's side is kept open for <c>clientCloseLinger</c> before it is closed
/// too. Kafka ends a consumer group member's session when its heartbeats stop, never because its connection dropped;
/// librdkafka's mock instead takes a consumer protocol member's partitions back the moment its connection closes
/// (rd_kafka_mock_cgrps_consumer_connection_closed in rdkafka_mock_cgrp.c), which made a crashed consumer look cheaper
/// on the embedded broker than on Kafka. Held open past the session timeout, the connection no longer tells the mock
/// anything the session does not.
/// </para>
/// </summary>
internal sealed class TcpForwarder : IAsyncDisposable
{
    private readonly TcpListener _listener;
    private readonly IPEndPoint _target;
    private readonly CancellationTokenSource _stopping = new();
    private readonly List<Task> _connections = [];
    private readonly Task _acceptLoop;
    private readonly TimeSpan _clientCloseLinger;

    public TcpForwarder(int listenPort, IPEndPoint target, TimeSpan clientCloseLinger = default)
    {
        _target = target;
        _clientCloseLinger = clientCloseLinger;
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
            // When either side closes, close both: a half-open Kafka connection is of no use to anyone. A client's close
            // reaches the broker only after the linger (see the class remarks); nothing is relayed meanwhile.
            var closedFirst = await Task.WhenAny(toBroker, toClient);
            if (closedFirst == toBroker && _clientCloseLinger > TimeSpan.Zero)
            {
                await Task.Delay(_clientCloseLinger, stopping);
            }

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
