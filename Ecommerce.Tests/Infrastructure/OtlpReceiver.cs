using System.Collections.Concurrent;
using System.Net;
using System.Text;
using Ecommerce.Testing;

namespace Ecommerce.Tests.Infrastructure;

/// <summary>
/// A loopback stand-in for the dashboard's OTLP/HTTP endpoint: it accepts every export and keeps the raw payloads.
/// OTLP protobuf carries strings as plain UTF-8, so a service name can be found in a payload without decoding it.
/// </summary>
public sealed class OtlpReceiver : IDisposable
{
    private readonly HttpListener _listener = new();
    private readonly ConcurrentQueue<(string Path, byte[] Body)> _exports = new();
    private readonly Task _loop;

    public OtlpReceiver()
    {
        Port = ServiceProcess.FreePort();
        _listener.Prefixes.Add($"http://127.0.0.1:{Port}/");
        _listener.Start();
        _loop = Task.Run(ServeAsync);
    }

    public int Port { get; }

    public string Endpoint => $"http://127.0.0.1:{Port}";

    /// <summary>Whether an export to <paramref name="path"/> (e.g. /v1/traces) mentioned <paramref name="text"/>.</summary>
    public bool Received(string path, string text)
    {
        var needle = Encoding.UTF8.GetBytes(text);
        return _exports.Any(e => e.Path == path && e.Body.AsSpan().IndexOf(needle) >= 0);
    }

    /// <summary>
    /// Whether a trace export held a span named exactly <paramref name="name"/>: the name as the protobuf field it is
    /// (Span.name, field 5, length-delimited: tag 0x2A, then its length), so "send orders" does not match inside
    /// "send orders.dlq".
    /// </summary>
    public bool ReceivedSpanNamed(string name)
    {
        var text = Encoding.UTF8.GetBytes(name);
        if (text.Length > 127)
        {
            throw new ArgumentException("Only names shorter than 128 bytes (a one-byte length) are supported.", nameof(name));
        }

        byte[] needle = [0x2A, (byte)text.Length, .. text];
        return _exports.Any(e => e.Path == "/v1/traces" && e.Body.AsSpan().IndexOf(needle) >= 0);
    }

    public void Dispose()
    {
        _listener.Stop();
        _listener.Close();
        _loop.Wait(TimeSpan.FromSeconds(5));
    }

    private async Task ServeAsync()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync();
            }
            catch (Exception ex) when (ex is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                return;
            }

            using var body = new MemoryStream();
            await context.Request.InputStream.CopyToAsync(body);
            _exports.Enqueue((context.Request.Url!.AbsolutePath, body.ToArray()));
            context.Response.StatusCode = 200;
            context.Response.ContentType = "application/x-protobuf";
            context.Response.Close();
        }
    }
}
