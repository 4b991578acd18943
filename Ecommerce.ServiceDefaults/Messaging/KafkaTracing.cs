using System.Diagnostics;
using System.Text;
using Confluent.Kafka;
using OpenTelemetry;
using OpenTelemetry.Context.Propagation;

namespace Ecommerce.ServiceDefaults.Messaging;

/// <summary>
/// Distributed tracing across Kafka: the producer writes W3C <c>traceparent</c>/<c>tracestate</c> (and baggage)
/// into the message headers and the consumer reads them back, so one order is one trace from simulator to
/// warehouse. Attribute names follow the OpenTelemetry messaging conventions.
/// </summary>
public static class KafkaTracing
{
    public const string ActivitySourceName = "Ecommerce.Messaging";
    public static readonly ActivitySource Source = new(ActivitySourceName);

    // Explicit rather than Propagators.DefaultTextMapPropagator, which stays a no-op in a process that never
    // starts the OpenTelemetry SDK (a benchmark, a test): the headers must be right either way.
    private static readonly TextMapPropagator Propagator =
        new CompositeTextMapPropagator([new TraceContextPropagator(), new BaggagePropagator()]);

    /// <summary>Starts the span of one message being sent to <paramref name="topic"/>.</summary>
    public static Activity? StartSend(string topic, string? key)
    {
        var activity = Source.StartActivity($"send {topic}", ActivityKind.Producer);
        if (activity is { IsAllDataRequested: true })
        {
            SetOperation(activity, "send", topic);
            if (key is not null)
            {
                activity.SetTag("messaging.kafka.message.key", key);
            }
        }

        return activity;
    }

    /// <summary>
    /// Tags a messaging span with its system, operation (<c>send</c> or <c>process</c>) and topic. The operation goes
    /// under today's names and also under <c>messaging.operation</c>, the name the conventions used before, which
    /// is the one the Aspire dashboard reads to title a span (<c>MSG kafka send orders</c>; without it, the title
    /// lost the operation).
    /// </summary>
    public static void SetOperation(Activity activity, string operation, string topic)
    {
        activity.SetTag("messaging.system", "kafka");
        activity.SetTag("messaging.operation.type", operation);
        activity.SetTag("messaging.operation.name", operation);
        activity.SetTag("messaging.operation", operation);
        activity.SetTag("messaging.destination.name", topic);
    }

    /// <summary>Writes the context of <paramref name="activity"/> (or the current one) into the message headers.</summary>
    public static void Inject(Activity? activity, Headers headers)
    {
        activity ??= Activity.Current;
        if (activity is null)
        {
            return;
        }

        Propagator.Inject(
            new PropagationContext(activity.Context, Baggage.Current),
            headers,
            static (carrier, name, value) =>
            {
                carrier.Remove(name);
                carrier.Add(name, Encoding.UTF8.GetBytes(value));
            });
    }

    /// <summary>Reads the producer's trace context from message headers; <c>default</c> when there is none.</summary>
    /// <remarks>
    /// Read directly (W3C <c>traceparent</c> and <c>tracestate</c>) rather than through the propagator, which runs for
    /// every event and allocates a baggage reader and delegates that a link to the producer's span never uses.
    /// </remarks>
    public static ActivityContext Extract(Headers? headers)
    {
        // A header's value may be null in Kafka: no context then (a throw here would dead-letter a valid order).
        if (headers is null || headers.Count == 0 || !headers.TryGetLastBytes("traceparent", out var parent) || parent is null)
        {
            return default;
        }

        var state = headers.TryGetLastBytes("tracestate", out var stateBytes) && stateBytes is not null ? Encoding.UTF8.GetString(stateBytes) : null;
        if (state is null && TryParseUsualTraceParent(parent, out var usual))
        {
            return usual;
        }

        return ActivityContext.TryParse(Encoding.UTF8.GetString(parent), state, isRemote: true, out var context) ? context : default;
    }

    /// <summary>
    /// Reads a <c>traceparent</c> of the usual form straight from its bytes (every consumed event has one, and a string
    /// of it was 136 of the consumer's 3,600 bytes allocated per order): version 00, lower-case hex, ids not all zeros,
    /// 55 bytes (https://www.w3.org/TR/trace-context/#traceparent-header). Anything else is left to
    /// <see cref="ActivityContext.TryParse(string?, string?, bool, out ActivityContext)"/>, which this agrees with.
    /// </summary>
    private static bool TryParseUsualTraceParent(ReadOnlySpan<byte> value, out ActivityContext context)
    {
        context = default;
        if (value.Length != 55 || value[0] != '0' || value[1] != '0' || value[2] != '-' || value[35] != '-' || value[52] != '-')
        {
            return false;
        }

        var traceId = value.Slice(3, 32);
        var spanId = value.Slice(36, 16);
        var flags = value.Slice(53, 2);
        if (!IsLowerHex(traceId) || !IsLowerHex(spanId) || !IsLowerHex(flags) || IsAllZeros(traceId) || IsAllZeros(spanId))
        {
            return false;
        }

        context = new ActivityContext(
            ActivityTraceId.CreateFromUtf8String(traceId),
            ActivitySpanId.CreateFromUtf8String(spanId),
            (ActivityTraceFlags)byte.Parse(flags, System.Globalization.NumberStyles.AllowHexSpecifier, System.Globalization.CultureInfo.InvariantCulture),
            traceState: null,
            isRemote: true);
        return true;
    }

    private static readonly System.Buffers.SearchValues<byte> LowerHex = System.Buffers.SearchValues.Create("0123456789abcdef"u8);

    private static bool IsLowerHex(ReadOnlySpan<byte> text) => !text.ContainsAnyExcept(LowerHex);

    private static bool IsAllZeros(ReadOnlySpan<byte> text) => !text.ContainsAnyExcept((byte)'0');
}
