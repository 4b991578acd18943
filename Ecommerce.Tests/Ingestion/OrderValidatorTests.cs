using System.Text;
using Ecommerce.Consumer.Ingestion;
using Ecommerce.Consumer.Orders;

namespace Ecommerce.Tests.Ingestion;

[Trait("Category", "Fast")]
public sealed class OrderValidatorTests
{
    // Exactly what the original Python producer sent: json.dumps of a dict with a naive isoformat() timestamp.
    private static readonly (string Name, string Raw)[] PythonFields =
    [
        ("order_id", "\"5f0c3d0e-2a7b-4f49-9a57-8f1f6f3b2a10\""),
        ("order_timestamp", "\"2024-05-01T12:34:56.123456\""),
        ("customer_id", "\"CUST-0042\""),
        ("customer_name", "\"Ada Lovelace\""),
        ("customer_region", "\"North\""),
        ("product_id", "\"P100\""),
        ("product_name", "\"Laptop\""),
        ("category", "\"Electronics\""),
        ("price", "1299.99"),
        ("quantity", "2"),
    ];

    private static readonly string PythonEvent = Event();

    /// <summary>The Python event with some fields given other raw JSON values, or (with null) left out.</summary>
    private static string Event(params (string Name, string? Raw)[] changes)
    {
        var fields = PythonFields
            .Select(f => (f.Name, Raw: changes.Any(c => c.Name == f.Name) ? changes.First(c => c.Name == f.Name).Raw : f.Raw))
            .Where(f => f.Raw is not null)
            .Select(f => $"\"{f.Name}\": {f.Raw}");
        return "{" + string.Join(", ", fields) + "}";
    }

    private static string With(string field, string? rawValue) => Event((field, rawValue));

    private static Rejection Reject(string json)
    {
        Assert.False(OrderValidator.TryParse(Encoding.UTF8.GetBytes(json), out _, out var rejection));
        return rejection!;
    }

    [Fact]
    public void The_original_python_producers_events_are_valid_and_their_naive_timestamps_are_utc()
    {
        Assert.True(OrderValidator.TryParse(Encoding.UTF8.GetBytes(PythonEvent), out var order, out var rejection), rejection?.Reason);

        Assert.Equal("5f0c3d0e-2a7b-4f49-9a57-8f1f6f3b2a10", order.OrderId);
        Assert.Equal(new DateTime(2024, 5, 1, 12, 34, 56, DateTimeKind.Utc).AddTicks(1_234_560), order.OrderTimestamp);
        Assert.Equal(DateTimeKind.Utc, order.OrderTimestamp.Kind);
        Assert.Equal(1299.99m, order.Price);
        Assert.Equal(2, order.Quantity);
        Assert.Equal("Electronics", order.Category);
    }

    [Theory]
    [InlineData("2024-05-01T14:34:56+02:00", 0)]
    [InlineData("2024-05-01T14:34:56+0200", 0)]
    [InlineData("2024-05-01T07:04:56-05:30", 0)]
    [InlineData("2024-05-01 12:34:56", 0)]
    [InlineData("2024-05-01T12:34:56z", 0)]
    [InlineData("2024-05-01T12:34:56.123456789Z", 1_234_560)]
    [InlineData("2024-05-01T12:34:56.5", 5_000_000)]
    public void Iso_8601_times_in_their_common_forms_are_read_as_utc_to_the_microsecond(string text, long extraTicks)
    {
        Assert.True(OrderValidator.TryParse(Encoding.UTF8.GetBytes(With("order_timestamp", $"\"{text}\"")), out var order, out var rejection), rejection?.Reason);
        Assert.Equal(new DateTime(2024, 5, 1, 12, 34, 56, DateTimeKind.Utc).AddTicks(extraTicks), order.OrderTimestamp);
    }

    [Fact]
    public void An_order_time_later_than_now_plus_the_allowed_skew_is_refused()
    {
        var now = new DateTime(2024, 5, 1, 12, 0, 0, DateTimeKind.Utc);
        var json = Encoding.UTF8.GetBytes(With("order_timestamp", "\"2024-05-01T12:34:56Z\""));

        Assert.True(OrderValidator.TryParse(json, out _, out _, latestAllowed: now.AddHours(1)));
        Assert.False(OrderValidator.TryParse(json, out _, out var rejection, latestAllowed: now.AddMinutes(30)));
        Assert.Equal(Rejection.OutOfRangeCode, rejection!.Code);
        Assert.Contains("Ingestion:MaxFutureSkew", rejection.Reason, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Ada\\tLovelace", "Ada Lovelace")]
    [InlineData("Line\\r\\nBreak", "Line Break")]
    [InlineData("Robert\\u0000'); DROP TABLE FACT_ORDERS;--", "Robert '); DROP TABLE FACT_ORDERS;--")]
    [InlineData(" \\tPadded \\n", "Padded")]
    [InlineData("Two  spaces stay", "Two  spaces stay")]
    public void Control_characters_in_names_become_spaces_and_never_cost_the_order(string raw, string stored)
    {
        var json = Event(("customer_name", $"\"{raw}\""), ("product_name", $"\"{raw}\""), ("category", $"\"{raw}\""), ("customer_region", $"\"{raw}\""));
        Assert.True(OrderValidator.TryParse(Encoding.UTF8.GetBytes(json), out var order, out var rejection), rejection?.Reason);
        Assert.Equal([stored, stored, stored, stored], [order.CustomerName, order.ProductName, order.Category, order.CustomerRegion]);
    }

    [Fact]
    public void A_timestamp_with_an_offset_is_converted_to_utc()
    {
        Assert.True(OrderValidator.TryParse(Encoding.UTF8.GetBytes(With("order_timestamp", "\"2024-05-01T14:34:56+02:00\"")), out var order, out _));
        Assert.Equal(new DateTime(2024, 5, 1, 12, 34, 56, DateTimeKind.Utc), order.OrderTimestamp);
    }

    [Fact]
    public void Unknown_extra_fields_are_ignored_and_unicode_text_is_kept_exactly()
    {
        var json = PythonEvent.Replace("\"Ada Lovelace\"", "\"Zoë Ōkubo 李雷 🚀\"", StringComparison.Ordinal).Replace("}", ", \"coupon\": \"X\"}", StringComparison.Ordinal);
        Assert.True(OrderValidator.TryParse(Encoding.UTF8.GetBytes(json), out var order, out _));
        Assert.Equal("Zoë Ōkubo 李雷 🚀", order.CustomerName);
    }

    [Fact]
    public void The_same_content_has_the_same_digest_and_other_content_another()
    {
        Assert.True(OrderValidator.TryParse(Encoding.UTF8.GetBytes(PythonEvent), out var order, out _));
        Assert.True(OrderValidator.TryParse(Encoding.UTF8.GetBytes(With("quantity", "3")), out var changed, out _));

        Assert.Equal(OrderValidator.Digest(order), OrderValidator.Digest(order with { }));
        Assert.NotEqual(OrderValidator.Digest(order), OrderValidator.Digest(changed));
    }

    [Fact]
    public void The_digest_of_an_order_is_the_same_in_every_version_of_the_service()
    {
        // Stored orders keep the digest they were written with; a redelivery must still match it after an upgrade.
        // The value is the first 16 bytes of SHA-256 over the UTF-8 of the fields joined by U+001F (time as ticks,
        // price with two decimals), computed outside .NET.
        var order = new ParsedOrder("o-1", new DateTime(2024, 5, 1, 12, 34, 56, DateTimeKind.Utc).AddTicks(1_234_560), "c-7",
            "Zoë Ångström", "Nordic 🌍", "p-3", "Kaffee ☕", "Home & Garden", 1234.5m, 3);

        Assert.Equal("9547fd74cdb4e51ebb8f2079f91bd669", OrderValidator.Digest(order));
    }

    [Theory]
    [InlineData("", Rejection.EmptyCode)]
    [InlineData("{\"order_id\": \"1\", ", Rejection.MalformedCode)]
    [InlineData("not json at all", Rejection.MalformedCode)]
    [InlineData("[1, 2, 3]", Rejection.MalformedCode)]
    [InlineData("null", Rejection.MalformedCode)]
    public void Broken_documents_are_refused_with_a_reason(string json, string code) =>
        Assert.Equal(code, Reject(json).Code);

    [Fact]
    public void Invalid_utf8_inside_a_string_is_refused_not_a_crash()
    {
        var bytes = Encoding.UTF8.GetBytes(PythonEvent);
        var at = PythonEvent.IndexOf("Ada", StringComparison.Ordinal);
        bytes[at] = 0xC3;
        bytes[at + 1] = 0x28; // 0xC3 must be followed by a continuation byte; 0x28 is not one.

        Assert.False(OrderValidator.TryParse(bytes, out _, out var rejection));
        Assert.Equal(Rejection.MalformedCode, rejection!.Code);
        Assert.Contains("UTF-8", rejection.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void A_tombstone_is_refused_not_a_crash()
    {
        Assert.False(OrderValidator.TryParse(ReadOnlyMemory<byte>.Empty, out _, out var rejection));
        Assert.Equal(Rejection.EmptyCode, rejection!.Code);
    }

    [Theory]
    [InlineData("order_id")]
    [InlineData("order_timestamp")]
    [InlineData("customer_id")]
    [InlineData("customer_name")]
    [InlineData("customer_region")]
    [InlineData("product_id")]
    [InlineData("product_name")]
    [InlineData("category")]
    [InlineData("price")]
    [InlineData("quantity")]
    public void Every_field_is_required(string field)
    {
        var rejection = Reject(With(field, null));
        Assert.Equal(Rejection.MissingFieldCode, rejection.Code);
        Assert.Contains(field, rejection.Reason, StringComparison.Ordinal);

        Assert.Equal(Rejection.MissingFieldCode, Reject(With(field, "null")).Code);
    }

    [Theory]
    [InlineData("quantity", "-1", Rejection.OutOfRangeCode)]
    [InlineData("quantity", "0", Rejection.OutOfRangeCode)]
    [InlineData("quantity", "\"two\"", Rejection.WrongTypeCode)]
    [InlineData("quantity", "2.5", Rejection.WrongTypeCode)]
    [InlineData("quantity", "99999999999", Rejection.WrongTypeCode)]
    [InlineData("price", "-0.01", Rejection.OutOfRangeCode)]
    [InlineData("price", "\"12.99\"", Rejection.WrongTypeCode)]
    [InlineData("price", "12.999", Rejection.OutOfRangeCode)]
    [InlineData("price", "1e300", Rejection.OutOfRangeCode)]
    [InlineData("order_timestamp", "\"yesterday\"", Rejection.WrongTypeCode)]
    [InlineData("order_timestamp", "1714566896", Rejection.WrongTypeCode)]
    [InlineData("order_timestamp", "\"1850-01-01T00:00:00\"", Rejection.OutOfRangeCode)]
    [InlineData("customer_id", "42", Rejection.WrongTypeCode)]
    [InlineData("customer_id", "\"   \"", Rejection.MissingFieldCode)]
    [InlineData("customer_id", "\"C\\t42\"", Rejection.OutOfRangeCode)]
    [InlineData("order_timestamp", "\"12:34:56\"", Rejection.WrongTypeCode)]
    [InlineData("order_timestamp", "\"1/2/2024\"", Rejection.WrongTypeCode)]
    [InlineData("order_timestamp", "\"1 May 2024\"", Rejection.WrongTypeCode)]
    [InlineData("order_timestamp", "\"2024-05-01\"", Rejection.WrongTypeCode)]
    [InlineData("order_timestamp", "\"2024-02-30T10:00:00Z\"", Rejection.WrongTypeCode)]
    [InlineData("order_timestamp", "\"2024-05-01T24:00:00Z\"", Rejection.WrongTypeCode)]
    [InlineData("order_timestamp", "\"2024-05-01T12:34:56 Z\"", Rejection.WrongTypeCode)]
    [InlineData("order_timestamp", "\"2024-05-01T12:34:56.\"", Rejection.WrongTypeCode)]
    [InlineData("order_timestamp", "\"2024-05-01T12:34:56.1234567890Z\"", Rejection.WrongTypeCode)]
    [InlineData("order_timestamp", "\"2024-05-01T12:34:56+2:00\"", Rejection.WrongTypeCode)]
    [InlineData("order_timestamp", "\"2024-05-01T12:34:56+19:00\"", Rejection.WrongTypeCode)]
    [InlineData("order_timestamp", "\"2024-05-01T12:34:56+02:00x\"", Rejection.WrongTypeCode)]
    [InlineData("order_timestamp", "\"2024-05-01T12:34:56ZZ\"", Rejection.WrongTypeCode)]
    [InlineData("order_timestamp", "\"2024-13-01T12:34:56\"", Rejection.WrongTypeCode)]
    [InlineData("order_timestamp", "\"0000-01-01T00:00:00\"", Rejection.WrongTypeCode)]
    [InlineData("order_timestamp", "\"2024-05-01T12:34:5\u0665\"", Rejection.WrongTypeCode)]
    [InlineData("order_timestamp", "\"+024-05-01T12:34:56\"", Rejection.WrongTypeCode)]
    [InlineData("category", "{\"name\": \"Books\"}", Rejection.WrongTypeCode)]
    public void Wrong_types_and_values_out_of_range_are_refused(string field, string rawValue, string code)
    {
        var rejection = Reject(With(field, rawValue));
        Assert.Equal(code, rejection.Code);
        Assert.Contains(field, rejection.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Overlong_strings_and_oversized_messages_are_refused()
    {
        Assert.Equal(Rejection.OutOfRangeCode, Reject(With("customer_name", $"\"{new string('x', 201)}\"")).Code);
        Assert.Equal(Rejection.TooLargeCode, Reject(With("product_name", $"\"{new string('x', 70_000)}\"")).Code);
    }

    [Fact]
    public void A_field_given_twice_is_refused_rather_than_guessed()
    {
        var rejection = Reject(PythonEvent.Replace("}", ", \"quantity\": 5}", StringComparison.Ordinal));
        Assert.Equal(Rejection.MalformedCode, rejection.Code);
        Assert.Contains("quantity", rejection.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Sql_meta_characters_in_text_are_just_text()
    {
        var json = With("customer_name", "\"O'Brien; DROP TABLE FACT_ORDERS; --\"");
        Assert.True(OrderValidator.TryParse(Encoding.UTF8.GetBytes(json), out var order, out _));
        Assert.Equal("O'Brien; DROP TABLE FACT_ORDERS; --", order.CustomerName);
    }

    private static ParsedOrder Parse(string json)
    {
        Assert.True(OrderValidator.TryParse(Encoding.UTF8.GetBytes(json), out var order, out var rejection), rejection?.Reason);
        return order;
    }

    [Fact]
    public void Texts_that_repeat_are_read_exactly_whether_seen_before_or_not()
    {
        // Far more distinct names than the cache of repeated texts holds, each read twice: every read must give back
        // its own text (a name that shares a cache entry with another must never come back as the other).
        var names = Enumerable.Range(0, 40_000).Select(i => $"Customer {i} Zoë").ToArray();
        foreach (var name in names.Concat(names))
        {
            Assert.Equal(name, Parse(With("customer_name", $"\"{name}\"")).CustomerName);
        }

        // A text read again is the same string, so that a batch's orders share their names.
        Assert.Same(Parse(PythonEvent).CustomerName, Parse(PythonEvent).CustomerName);

        // Escaped and plain spellings of one text read the same, in either order.
        Assert.Equal("José", Parse(With("customer_name", "\"Jos\\u00e9\"")).CustomerName);
        Assert.Equal("José", Parse(With("customer_name", "\"José\"")).CustomerName);
        Assert.Equal("José", Parse(With("customer_name", "\"Jos\\u00e9\"")).CustomerName);
    }

    [Fact]
    public void Invalid_utf8_is_refused_even_where_a_valid_text_was_read_before()
    {
        Parse(PythonEvent); // "Ada Lovelace" is now a text seen before.
        var bytes = Encoding.UTF8.GetBytes(PythonEvent);
        var at = PythonEvent.IndexOf("Ada", StringComparison.Ordinal);
        bytes[at + 1] = 0xFF; // Never valid in UTF-8.

        Assert.False(OrderValidator.TryParse(bytes, out _, out var rejection));
        Assert.Equal(Rejection.MalformedCode, rejection!.Code);
    }
}
