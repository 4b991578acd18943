using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Ecommerce.Consumer.Orders;

namespace Ecommerce.Consumer.Ingestion;

/// <summary>
/// Checks an event against the wire format (see the design: the original Python producer's fields). Either
/// returns the order or says exactly what is wrong; it never throws on data, whatever the bytes are.
/// </summary>
public static partial class OrderValidator
{
    /// <summary>Orders are a few hundred bytes; anything this large is not an order.</summary>
    public const int MaxMessageBytes = 64 * 1024;

    public const int MaxIdLength = 64;
    public const int MaxNameLength = 200;
    public const int MaxLabelLength = 100;
    public const int MaxQuantity = 1_000_000;
    public const decimal MaxPrice = 1_000_000_000m;

    private static readonly DateTime Earliest = new(1900, 1, 1, 0, 0, 0, DateTimeKind.Utc);
    private static readonly DateTime Latest = new(2200, 1, 1, 0, 0, 0, DateTimeKind.Utc);

    /// <summary>
    /// Reads an order. <paramref name="latestAllowed"/> is the latest order time accepted (now plus the producers'
    /// allowed clock skew); an order stamped later is refused, since it would pin its product's name and its
    /// customer's current version until the world caught up with it.
    /// </summary>
    public static bool TryParse(ReadOnlyMemory<byte> value, out ParsedOrder order, out Rejection? rejection, DateTime? latestAllowed = null)
    {
        order = default;
        rejection = null;
        if (value.IsEmpty)
        {
            rejection = new Rejection(Rejection.EmptyCode, "the message has no value (empty or tombstone)");
            return false;
        }

        if (value.Length > MaxMessageBytes)
        {
            rejection = new Rejection(Rejection.TooLargeCode, $"the message is {value.Length} bytes; an order is at most {MaxMessageBytes}");
            return false;
        }

        // One pass of a reader over the bytes, rather than a JsonDocument: the document's object and its table of
        // tokens were built for every event only to be walked once.
        var fields = new Fields(value.Span);
        if (!fields.Walk())
        {
            rejection = fields.Rejection;
            return false;
        }

        if (!fields.Text("order_id", MaxIdLength, repeats: false, out var orderId)
            || !fields.Timestamp("order_timestamp", latestAllowed ?? DateTime.MaxValue, out var timestamp)
            || !fields.Text("customer_id", MaxIdLength, repeats: true, out var customerId)
            || !fields.Description("customer_name", MaxNameLength, out var customerName)
            || !fields.Description("customer_region", MaxLabelLength, out var region)
            || !fields.Text("product_id", MaxIdLength, repeats: true, out var productId)
            || !fields.Description("product_name", MaxNameLength, out var productName)
            || !fields.Description("category", MaxLabelLength, out var category)
            || !fields.Price("price", out var price)
            || !fields.Quantity("quantity", out var quantity))
        {
            rejection = fields.Rejection;
            return false;
        }

        order = new ParsedOrder(orderId, timestamp, customerId, customerName, region, productId, productName, category, price, quantity);
        return true;
    }

    /// <summary>A digest of the order's content, the same for every delivery of the same order.</summary>
    public static string Digest(in ParsedOrder order)
    {
        // The UTF-8 of the fields joined by U+001F, hashed without building the joined text: this runs for every
        // event. The bytes must never change, or stored orders would stop matching their redeliveries.
        Span<char> price = stackalloc char[32];
        Span<char> quantity = stackalloc char[16];
        Span<char> ticks = stackalloc char[24];
        order.Price.TryFormat(price, out var priceLength, "F2", CultureInfo.InvariantCulture);
        order.Quantity.TryFormat(quantity, out var quantityLength, default, CultureInfo.InvariantCulture);
        order.OrderTimestamp.Ticks.TryFormat(ticks, out var ticksLength, default, CultureInfo.InvariantCulture);
        ReadOnlySpan<string> texts = [order.OrderId, order.CustomerId, order.CustomerName, order.CustomerRegion, order.ProductId, order.ProductName, order.Category];
        var length = 64 + priceLength + quantityLength + ticksLength;
        foreach (var text in texts)
        {
            length += Encoding.UTF8.GetMaxByteCount(text.Length);
        }

        var buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(length);
        try
        {
            var written = 0;
            void Add(ReadOnlySpan<char> field, bool last = false)
            {
                written += Encoding.UTF8.GetBytes(field, buffer.AsSpan(written));
                if (!last)
                {
                    buffer[written++] = 0x1f;
                }
            }

            Add(order.OrderId);
            Add(ticks[..ticksLength]);
            Add(order.CustomerId);
            Add(order.CustomerName);
            Add(order.CustomerRegion);
            Add(order.ProductId);
            Add(order.ProductName);
            Add(order.Category);
            Add(price[..priceLength]);
            Add(quantity[..quantityLength], last: true);
            Span<byte> hash = stackalloc byte[32];
            SHA256.HashData(buffer.AsSpan(0, written), hash);
            return Convert.ToHexStringLower(hash[..16]);
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>
    /// Descriptive text as stored: every run of whitespace that holds a control character (a tab, a line break, a
    /// NUL) becomes one space, and the ends are trimmed. Text without control characters is kept as it is.
    /// </summary>
    public static string NormalizeDescription(string text)
    {
        if (!HasControl(text))
        {
            return text;
        }

        return ControlRun().Replace(text, " ").Trim();
    }

    /// <summary>
    /// An ISO-8601 date-time as a UTC instant, to the microsecond (the finest unit both warehouses keep):
    /// <c>2024-05-01T12:34:56</c> (or with a space for the T), optional fractional seconds (1 to 9 digits), and an
    /// optional <c>Z</c> or offset (<c>+02:00</c>, <c>+0200</c>); no offset means UTC. Read by hand rather than with
    /// a regular expression: it runs for every event, and a match allocates several objects.
    /// </summary>
    internal static bool TryParseIso(ReadOnlySpan<char> text, out DateTime value)
    {
        value = default;
        if (text.Length < 19 || text[4] != '-' || text[7] != '-' || text[10] is not ('T' or ' ') || text[13] != ':' || text[16] != ':'
            || !Number(text, 0, 4, out var year) || !Number(text, 5, 2, out var month) || !Number(text, 8, 2, out var day)
            || !Number(text, 11, 2, out var hour) || !Number(text, 14, 2, out var minute) || !Number(text, 17, 2, out var second))
        {
            return false;
        }

        var rest = text[19..];
        var microseconds = 0;
        if (rest.Length > 0 && rest[0] == '.')
        {
            var digits = 1;
            while (digits < rest.Length && char.IsAsciiDigit(rest[digits]))
            {
                digits++;
            }

            if (digits - 1 is < 1 or > 9)
            {
                return false;
            }

            for (var i = 1; i <= 6; i++)
            {
                microseconds = (microseconds * 10) + (i < digits ? rest[i] - '0' : 0);
            }

            rest = rest[digits..];
        }

        var offset = TimeSpan.Zero;
        if (rest is ['Z' or 'z'])
        {
            rest = [];
        }
        else if (rest.Length > 0)
        {
            var zone = rest[1..];
            int hours, minutes;
            if (rest[0] is not ('+' or '-')
                || !(zone.Length == 4 ? Number(zone, 0, 2, out hours) && Number(zone, 2, 2, out minutes)
                    : zone.Length == 5 && zone[2] == ':' && Number(zone, 0, 2, out hours) && Number(zone, 3, 2, out minutes))
                || hours > 18 || minutes > 59)
            {
                return false;
            }

            offset = new TimeSpan(hours, minutes, 0) * (rest[0] == '-' ? -1 : 1);
        }

        if (month is < 1 or > 12 || year == 0 || day < 1 || day > DateTime.DaysInMonth(year, month) || hour > 23 || minute > 59 || second > 59)
        {
            return false;
        }

        if (year is < 2 or > 9998)
        {
            // A real date, far outside any order's lifetime: let the range check say so (the offset cannot matter).
            value = year < 2 ? DateTime.MinValue : DateTime.MaxValue;
            return true;
        }

        var local = new DateTime(year, month, day, hour, minute, second, DateTimeKind.Unspecified).AddTicks(microseconds * 10L);
        value = DateTime.SpecifyKind(local - offset, DateTimeKind.Utc);
        return true;
    }

    /// <summary>A fixed number of ASCII digits at <paramref name="start"/>.</summary>
    private static bool Number(ReadOnlySpan<char> text, int start, int length, out int value)
    {
        value = 0;
        for (var i = start; i < start + length; i++)
        {
            if (!char.IsAsciiDigit(text[i]))
            {
                return false;
            }

            value = (value * 10) + (text[i] - '0');
        }

        return true;
    }

    /// <summary>Whether the text holds a control character (char.IsControl: U+0000 to U+001F and U+007F to U+009F).</summary>
    private static bool HasControl(ReadOnlySpan<char> text) =>
        text.ContainsAnyInRange('\u0000', '\u001f') || text.ContainsAnyInRange('\u007f', '\u009f');

    [GeneratedRegex(@"[\s\p{Cc}]*\p{Cc}[\s\p{Cc}]*")]
    private static partial Regex ControlRun();

    /// <summary>The fields of an order, in the order the producers write them (and these checks read them).</summary>
    private static readonly byte[][] FieldNames =
    [
        "order_id"u8.ToArray(), "order_timestamp"u8.ToArray(), "customer_id"u8.ToArray(), "customer_name"u8.ToArray(),
        "customer_region"u8.ToArray(), "product_id"u8.ToArray(), "product_name"u8.ToArray(), "category"u8.ToArray(),
        "price"u8.ToArray(), "quantity"u8.ToArray(),
    ];

    private static readonly string[] FieldNameTexts = FieldNames.Select(Encoding.UTF8.GetString).ToArray();

    /// <summary>Why an event whose field holds no text is refused.</summary>
    internal const string NotTextReason = "a text field is not valid UTF-8, or escapes an unpaired surrogate (\\ud800)";

    /// <summary>The text of a JSON string's unescaped bytes; null when they are not UTF-8 (a decoder would replace them).</summary>
    private static string? DecodeUtf8(ReadOnlySpan<byte> raw) =>
        System.Text.Unicode.Utf8.IsValid(raw) ? Encoding.UTF8.GetString(raw) : null;

    /// <summary>What the walk found of one of the order's fields: its last value's token, and how often the field appears.</summary>
    private struct FieldValue
    {
        public int Count;
        public JsonTokenType Token;

        /// <summary>Where the value's bytes start: a string's first byte after its opening quote, a number's first digit.</summary>
        public int Start;
        public int Length;

        /// <summary>Whether a string value holds escapes (<c>\n</c>, <c>\u00e9</c>): its bytes are then not its text.</summary>
        public bool Escaped;

        /// <summary>A number's value, read as the walk passed it (the reader was on it).</summary>
        public bool IsDecimal;
        public decimal Decimal;
        public bool IsInt32;
        public int Int32;
    }

    [System.Runtime.CompilerServices.InlineArray(10)]
    private struct FieldValues
    {
        private FieldValue _field;
    }

    /// <summary>
    /// Reads required fields one by one and keeps the first problem found. The object's properties are walked once by a
    /// reader (<see cref="Walk"/>), each field's value kept as a place in the bytes with how often the field appears (a
    /// field twice is an error), so that reading ten fields neither walks the object ten times nor builds a document.
    /// </summary>
    private ref struct Fields
    {
        private readonly ReadOnlySpan<byte> _json;
        private FieldValues _values;

        public Fields(ReadOnlySpan<byte> json) => _json = json;

        public Rejection? Rejection { get; private set; }

        /// <summary>
        /// Reads the whole document, as a JSON document would be read (at most 16 levels deep, nothing after the value,
        /// no comments or trailing commas), keeping the top-level object's fields. False, with the rejection, when the
        /// bytes are not JSON or not an object.
        /// </summary>
        public bool Walk()
        {
            var reader = new Utf8JsonReader(_json, new JsonReaderOptions { MaxDepth = 16 });
            try
            {
                if (!reader.Read())
                {
                    return Fail(Rejection.MalformedCode, "not valid JSON: no value");
                }

                var root = reader.TokenType;
                if (root == JsonTokenType.StartObject)
                {
                    var position = 0;
                    while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                    {
                        // Producers write the fields in order, so the field at this position is tried first.
                        var slot = position < FieldNames.Length && NameIs(ref reader, FieldNames[position]) ? position : SlotOf(ref reader);
                        reader.Read();
                        if (slot >= 0)
                        {
                            Keep(ref _values[slot], ref reader);
                        }

                        reader.Skip(); // An object or array value is passed over whole (and checked as it goes).
                        position++;
                    }
                }
                else
                {
                    reader.Skip();
                }

                // Nothing may follow the value but whitespace: the reader refuses anything else here.
                while (reader.Read())
                {
                }

                if (root != JsonTokenType.StartObject)
                {
                    return Fail(Rejection.MalformedCode, $"expected a JSON object, found {KindOf(root)}");
                }

                return true;
            }
            catch (JsonException ex)
            {
                return Fail(Rejection.MalformedCode, $"not valid JSON: {ex.Message}");
            }
        }

        private static int SlotOf(ref Utf8JsonReader reader)
        {
            for (var slot = 0; slot < FieldNames.Length; slot++)
            {
                if (NameIs(ref reader, FieldNames[slot]))
                {
                    return slot;
                }
            }

            return -1;
        }

        /// <summary>
        /// Whether the property name the reader is on is <paramref name="name"/>. A name whose escapes make no text (an
        /// unpaired surrogate, <c>\ud800</c>) is no field's name: the reader throws on unescaping it, and it is passed
        /// over as any unknown property is.
        /// </summary>
        private static bool NameIs(ref Utf8JsonReader reader, byte[] name)
        {
            try
            {
                return reader.ValueTextEquals(name);
            }
            catch (InvalidOperationException)
            {
                return false;
            }
        }

        private static void Keep(ref FieldValue field, ref Utf8JsonReader reader)
        {
            field.Count++;
            field.Token = reader.TokenType;
            field.Length = reader.ValueSpan.Length; // One span: the reader reads one contiguous buffer.
            field.Start = (int)reader.TokenStartIndex + (reader.TokenType == JsonTokenType.String ? 1 : 0);
            field.Escaped = reader.ValueIsEscaped;
            if (reader.TokenType == JsonTokenType.Number)
            {
                field.IsDecimal = reader.TryGetDecimal(out field.Decimal);
                field.IsInt32 = reader.TryGetInt32(out field.Int32);
            }
        }

        /// <summary>The kind of JSON value a token starts.</summary>
        private static JsonValueKind KindOf(JsonTokenType token) => token switch
        {
            JsonTokenType.StartObject => JsonValueKind.Object,
            JsonTokenType.StartArray => JsonValueKind.Array,
            JsonTokenType.String => JsonValueKind.String,
            JsonTokenType.Number => JsonValueKind.Number,
            JsonTokenType.True => JsonValueKind.True,
            JsonTokenType.False => JsonValueKind.False,
            JsonTokenType.Null => JsonValueKind.Null,
            _ => JsonValueKind.Undefined,
        };

        /// <summary>Names, regions, categories: a control character never costs the order (see <see cref="NormalizeDescription"/>).</summary>
        public bool Description(string name, int maxLength, out string value) => ReadText(name, maxLength, descriptive: true, repeats: true, out value);

        /// <summary>Identifiers: exact, so a control character in one is an error rather than something to guess at.</summary>
        /// <param name="repeats">Whether the same value comes back order after order (a customer's or product's id, not an order's).</param>
        public bool Text(string name, int maxLength, bool repeats, out string value) => ReadText(name, maxLength, descriptive: false, repeats, out value);

        private bool ReadText(string name, int maxLength, bool descriptive, bool repeats, out string value)
        {
            value = "";
            if (!Get(name, JsonTokenType.String, "a string", out var field))
            {
                return false;
            }

            var text = repeats && !field.Escaped ? RepeatedTexts.Get(Raw(field)) : StringOf(field);
            if (text is null)
            {
                return NotUtf8();
            }

            value = descriptive ? NormalizeDescription(text) : text;
            if (string.IsNullOrWhiteSpace(value))
            {
                return Fail(Rejection.MissingFieldCode, $"'{name}' is empty");
            }

            if (value.Length > maxLength)
            {
                return Fail(Rejection.OutOfRangeCode, $"'{name}' is {value.Length} characters long; at most {maxLength} are allowed");
            }

            // Never true of descriptive text, which has had its control characters replaced.
            if (HasControl(value))
            {
                return Fail(Rejection.OutOfRangeCode, $"'{name}' contains a control character (such as NUL or a line break)");
            }

            return true;
        }

        /// <summary>A value's bytes as written (a string's without its quotes).</summary>
        private readonly ReadOnlySpan<byte> Raw(in FieldValue field) => _json.Slice(field.Start, field.Length);

        /// <summary>The text of a string value; null when it is not UTF-8 or escapes no text.</summary>
        private readonly string? StringOf(in FieldValue field) => field.Escaped ? Unescaped(field) : DecodeUtf8(Raw(field));

        /// <summary>The text of a string with escapes, as JSON reads them; null when it is not UTF-8.</summary>
        private readonly string? Unescaped(in FieldValue field)
        {
            // The string token again, quotes and all, read by a reader of its own (rare: producers escape little).
            var reader = new Utf8JsonReader(_json.Slice(field.Start - 1, field.Length + 2));
            reader.Read();
            try
            {
                return reader.GetString();
            }
            catch (InvalidOperationException)
            {
                return null; // Invalid UTF-8, which a reader only finds when it makes the text.
            }
        }

        private bool NotUtf8() => Fail(Rejection.MalformedCode, NotTextReason);

        public bool Timestamp(string name, DateTime latestAllowed, out DateTime value)
        {
            value = default;
            if (!Get(name, JsonTokenType.String, "an ISO-8601 string", out var field))
            {
                return false;
            }

            // An offset, when present, is honoured; without one the time is UTC (the original producer wrote naive UTC
            // timestamps such as 2024-05-01T12:34:56.123456). Only ISO-8601 date-times: a bare time, a local date
            // format or words would be guessed at, and a guess stored as a fact is worse than a dead letter. Read from
            // the bytes into a buffer on the stack: the usual timestamp never becomes a string.
            var raw = Raw(field);
            Span<char> buffer = stackalloc char[64];
            scoped ReadOnlySpan<char> text;
            if (field.Escaped || raw.Length > buffer.Length)
            {
                if (StringOf(field) is not { } decoded)
                {
                    return NotUtf8();
                }

                text = decoded;
            }
            else if (System.Text.Unicode.Utf8.ToUtf16(raw, buffer, out _, out var written, replaceInvalidSequences: false) == System.Buffers.OperationStatus.Done)
            {
                text = buffer[..written];
            }
            else
            {
                return NotUtf8();
            }

            if (!TryParseIso(text, out value))
            {
                return Fail(Rejection.WrongTypeCode, $"'{name}' is '{Shorten(text)}', not an ISO-8601 date and time such as 2024-05-01T12:34:56Z");
            }

            if (value < Earliest || value >= Latest)
            {
                return Fail(Rejection.OutOfRangeCode, $"'{name}' is {text}; expected a time between 1900 and 2200");
            }

            if (value > latestAllowed)
            {
                return Fail(Rejection.OutOfRangeCode,
                    $"'{name}' is {text}, later than now plus the clock skew allowed (Ingestion:MaxFutureSkew; accepted until {latestAllowed:yyyy-MM-ddTHH:mm:ssZ})");
            }

            return true;
        }

        public bool Price(string name, out decimal value)
        {
            value = 0;
            if (!Get(name, JsonTokenType.Number, "a number", out var field))
            {
                return false;
            }

            value = field.Decimal;
            if (!field.IsDecimal || value < 0 || value > MaxPrice)
            {
                value = 0;
                return Fail(Rejection.OutOfRangeCode, $"'{name}' is {RawText(field)}; expected a number from 0 to {MaxPrice}");
            }

            if (decimal.Round(value, 2) != value)
            {
                return Fail(Rejection.OutOfRangeCode, $"'{name}' is {RawText(field)}; prices have at most two decimal places");
            }

            return true;
        }

        public bool Quantity(string name, out int value)
        {
            value = 0;
            if (!Get(name, JsonTokenType.Number, "a whole number", out var field))
            {
                return false;
            }

            if (!field.IsInt32)
            {
                return Fail(Rejection.WrongTypeCode, $"'{name}' is {RawText(field)}; expected a whole number");
            }

            value = field.Int32;
            if (value < 1 || value > MaxQuantity)
            {
                return Fail(Rejection.OutOfRangeCode, $"'{name}' is {value}; expected 1 to {MaxQuantity}");
            }

            return true;
        }

        /// <summary>A number as written (ASCII by the grammar of JSON numbers).</summary>
        private readonly string RawText(in FieldValue field) => Encoding.ASCII.GetString(Raw(field));

        private bool Get(string name, JsonTokenType token, string expected, out FieldValue field)
        {
            field = _values[Array.IndexOf(FieldNameTexts, name)];
            if (field.Count == 0 || field.Token == JsonTokenType.Null)
            {
                return Fail(Rejection.MissingFieldCode, $"required field '{name}' is missing");
            }

            if (field.Count > 1)
            {
                return Fail(Rejection.MalformedCode, $"field '{name}' appears {field.Count} times");
            }

            return field.Token == token || Fail(Rejection.WrongTypeCode, $"'{name}' is a {KindOf(field.Token).ToString().ToLowerInvariant()}; expected {expected}");
        }

        private bool Fail(string code, string reason)
        {
            Rejection = new Rejection(code, reason);
            return false;
        }

        private static string Shorten(ReadOnlySpan<char> text) => text.Length <= 40 ? text.ToString() : string.Concat(text[..40], "...");
    }

    /// <summary>
    /// One string for a text that comes back order after order (a customer's id and name, a region, a product, a
    /// category), instead of a new one per order: fewer allocations, and a batch's orders share their texts. A small
    /// cache per thread, one entry per hash of the raw UTF-8, replaced on a miss, so unique texts (the original producer
    /// made a name per order) cost a hash and a comparison more and never grow it.
    /// </summary>
    private static class RepeatedTexts
    {
        private const int Size = 1 << 14;
        private const int MaxBytes = 256;

        [ThreadStatic]
        private static string?[]? t_texts;

        /// <summary>The text of unescaped string bytes; null when they are not UTF-8.</summary>
        public static string? Get(ReadOnlySpan<byte> raw)
        {
            if (raw.Length > MaxBytes)
            {
                return DecodeUtf8(raw);
            }

            var texts = t_texts ??= new string?[Size];
            var slot = (int)(System.IO.Hashing.XxHash3.HashToUInt64(raw) & (Size - 1));
            if (texts[slot] is { } cached && Utf8Equals(raw, cached))
            {
                return cached; // A cached text matched its bytes, so they are valid UTF-8.
            }

            var text = DecodeUtf8(raw);
            if (text is not null)
            {
                texts[slot] = text;
            }

            return text;
        }

        private static bool Utf8Equals(ReadOnlySpan<byte> utf8, string text)
        {
            Span<byte> encoded = stackalloc byte[MaxBytes];
            return Encoding.UTF8.TryGetBytes(text, encoded[..utf8.Length], out var written) && written == utf8.Length
                && encoded[..written].SequenceEqual(utf8);
        }
    }
}
