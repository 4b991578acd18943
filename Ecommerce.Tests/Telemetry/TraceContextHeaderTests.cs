using System.Diagnostics;
using System.Text;
using Confluent.Kafka;
using Ecommerce.ServiceDefaults.Messaging;

namespace Ecommerce.Tests.Telemetry;

/// <summary>
/// The producer's trace context read from an event's headers (<see cref="KafkaTracing.Extract"/>): the same as the
/// runtime's own parser of W3C trace context (<see cref="ActivityContext.TryParse(string?, string?, bool, out ActivityContext)"/>),
/// the answer key, for well-formed and hostile headers alike, and never an exception.
/// </summary>
[Trait("Category", "Fast")]
public sealed class TraceContextHeaderTests
{
    public static TheoryData<string> Cases => new()
    {
        "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00",
        "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-ff", // Flags the spec does not define yet.
        "00-0AF7651916CD43DD8448EB211C80319C-B7AD6B7169203331-01", // Upper case.
        "00-00000000000000000000000000000000-b7ad6b7169203331-01", // A trace id of zeros.
        "00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01", // A span id of zeros.
        "ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", // A forbidden version.
        "01-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-later", // A later version, longer.
        "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-", // Version 00 is exactly 55 characters.
        "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-1",
        "00_0af7651916cd43dd8448eb211c80319c_b7ad6b7169203331_01",
        "00-0af7651916cd43dd8448eb211c80319g-b7ad6b7169203331-01",
        "00-0af7651916cd43dd8448eb211c80319c-b7ad6b716920333 -01",
        "",
        "\u00e9\u00e9-0af7651916cd43dd8448eb211c80319c-b7ad6b716920-01",
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void A_traceparent_is_read_as_the_runtime_reads_it(string traceParent)
    {
        AssertSameAsRuntime(Encoding.UTF8.GetBytes(traceParent), null);
        AssertSameAsRuntime(Encoding.UTF8.GetBytes(traceParent), "vendor=value");
    }

    [Fact]
    public void Random_traceparents_are_read_as_the_runtime_reads_them()
    {
        // Seeded: a failure replays. Mostly near-valid headers (one byte changed), where a shortcut would go wrong.
        var random = new Random(2026_12_05);
        var valid = Encoding.UTF8.GetBytes("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
        const string alphabet = "0123456789abcdefABCDEF-_ gz\u0000";
        for (var i = 0; i < 5_000; i++)
        {
            var bytes = (byte[])valid.Clone();
            if (i % 10 == 0)
            {
                bytes = new byte[random.Next(0, 70)];
                random.NextBytes(bytes);
            }
            else
            {
                for (var changes = random.Next(1, 3); changes > 0; changes--)
                {
                    bytes[random.Next(bytes.Length)] = (byte)alphabet[random.Next(alphabet.Length)];
                }
            }

            AssertSameAsRuntime(bytes, null);
        }
    }

    [Fact]
    public void A_header_without_a_value_is_no_context_and_no_error()
    {
        Assert.Equal(default, KafkaTracing.Extract(new Headers { { "traceparent", null } }));
        var usual = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
        var read = KafkaTracing.Extract(new Headers { { "traceparent", Encoding.UTF8.GetBytes(usual) }, { "tracestate", null } });
        Assert.Equal(ActivityTraceId.CreateFromString("0af7651916cd43dd8448eb211c80319c"), read.TraceId);
        Assert.Null(read.TraceState);
    }

    [Fact]
    public void The_last_traceparent_header_speaks()
    {
        var first = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
        var last = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00";
        var read = KafkaTracing.Extract(new Headers { { "traceparent", Encoding.UTF8.GetBytes(first) }, { "traceparent", Encoding.UTF8.GetBytes(last) } });
        Assert.Equal(ActivityTraceId.CreateFromString("4bf92f3577b34da6a3ce929d0e0e4736"), read.TraceId);
        Assert.Equal(ActivityTraceFlags.None, read.TraceFlags);
    }

    [Fact]
    public void A_usual_traceparent_is_read_without_a_string_of_it()
    {
        var headers = new Headers { { "traceparent", Encoding.UTF8.GetBytes("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01") } };
        KafkaTracing.Extract(headers); // Compiled, and the parser's tables made, before counting.
        var before = GC.GetAllocatedBytesForCurrentThread();
        var read = KafkaTracing.Extract(headers);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.NotEqual(default, read);
        // The ids keep strings of their own (144 bytes, as the runtime's parser makes them too); a string of the whole header adds 136.
        Assert.True(allocated < 200, $"{allocated} bytes allocated");
    }

    private static void AssertSameAsRuntime(byte[] traceParent, string? traceState)
    {
        var headers = new Headers { { "traceparent", traceParent } };
        if (traceState is not null)
        {
            headers.Add("tracestate", Encoding.UTF8.GetBytes(traceState));
        }

        var expected = ActivityContext.TryParse(Encoding.UTF8.GetString(traceParent), traceState, isRemote: true, out var context) ? context : default;
        var actual = KafkaTracing.Extract(headers);
        Assert.True(expected == actual, $"'{Encoding.UTF8.GetString(traceParent)}': expected {expected.TraceId}/{expected.SpanId}/{expected.TraceFlags}, read {actual.TraceId}/{actual.SpanId}/{actual.TraceFlags}");
        Assert.Equal(expected.TraceState, actual.TraceState);
        Assert.Equal(expected.IsRemote, actual.IsRemote);
    }
}
