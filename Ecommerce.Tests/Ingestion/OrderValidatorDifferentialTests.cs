using System.Globalization;
using System.Text;
using System.Text.Json;
using Ecommerce.Consumer.Ingestion;
using Ecommerce.Consumer.Orders;

namespace Ecommerce.Tests.Ingestion;

/// <summary>
/// The validator against a reference reading of the same rules built on <see cref="JsonDocument"/>, over random events
/// and random damage to them (fields left out, given twice or with values of other kinds, escapes, unknown fields,
/// nesting, invalid UTF-8, bytes flipped, cut or added): both must accept the same events with the same fields, and
/// refuse the others with the same code and reason. The reference shares none of the validator's reading code; it uses
/// the validator's timestamp grammar (<see cref="OrderValidator.TryParseIso"/>, tested on its own in
/// <see cref="OrderValidatorTests"/>) and its normalisation of descriptive text, which are not what it checks.
/// </summary>
[Trait("Category", "Fast")]
public sealed class OrderValidatorDifferentialTests
{
    private static readonly DateTime LatestAllowed = new(2026, 12, 6, 12, 0, 0, DateTimeKind.Utc);

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    public void Random_and_damaged_events_are_judged_as_the_reference_judges_them(int seed)
    {
        var random = new Random(seed);
        var accepted = 0;
        var codes = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < 20_000; i++)
        {
            var bytes = RandomEvent(random);
            var expectedValid = ReferenceReader.TryRead(bytes, LatestAllowed, out var expected, out var expectedRejection);
            var valid = OrderValidator.TryParse(bytes, out var order, out var rejection, LatestAllowed);
            var what = $"seed {seed}, event {i}: {Encoding.UTF8.GetString(bytes)} ({Convert.ToHexString(bytes)})";

            Assert.True(expectedValid == valid, $"{what}: reference {(expectedValid ? "accepts" : "refuses: " + expectedRejection)}, validator {(valid ? "accepts" : "refuses: " + rejection)}");
            if (valid)
            {
                Assert.True(expected == order, $"{what}: reference {expected}, validator {order}");
                accepted++;
                continue;
            }

            Assert.True(expectedRejection!.Code == rejection!.Code, $"{what}: reference {expectedRejection}, validator {rejection}");
            if (rejection.Code is Rejection.EmptyCode or Rejection.TooLargeCode)
            {
                // Refused before any reading: the reference does not word these.
            }
            else if (expectedRejection.Reason.StartsWith("not valid JSON", StringComparison.Ordinal))
            {
                // The words after it are the JSON reader's, which may say the same thing another way.
                Assert.StartsWith("not valid JSON", rejection.Reason, StringComparison.Ordinal);
            }
            else
            {
                Assert.True(expectedRejection.Reason == rejection.Reason, $"{what}: reference {expectedRejection}, validator {rejection}");
            }

            codes[rejection.Code] = codes.GetValueOrDefault(rejection.Code) + 1;
        }

        // The stream reaches both sides of every rule, so agreement means something.
        Assert.InRange(accepted, 2_000, 18_000);
        foreach (var code in new[] { Rejection.MalformedCode, Rejection.MissingFieldCode, Rejection.WrongTypeCode, Rejection.OutOfRangeCode })
        {
            Assert.True(codes.GetValueOrDefault(code) > 100, $"only {codes.GetValueOrDefault(code)} events refused as {code}");
        }
    }

    private static readonly string[] FieldNames =
        ["order_id", "order_timestamp", "customer_id", "customer_name", "customer_region", "product_id", "product_name", "category", "price", "quantity"];

    private static readonly string[] Timestamps =
    [
        "2024-05-01T12:34:56.123456", "2024-05-01T12:34:56Z", "2024-05-01 12:34:56", "2024-05-01T14:34:56+02:00",
        "2024-05-01T14:34:56-0130", "2026-12-06T11:59:59.9999999Z",
    ];

    private static readonly string[] BadTimestamps =
    [
        "2026-12-06T13:00:00Z", "1850-01-01T00:00:00", "yesterday", "2024-02-30T10:00:00Z", "2024-05-01", "12:34:56", "2024-05-01T12:34:56.", "",
        "2024-05-01T12:34:5\u0665", "\uff12024-05-01T12:34:56", "2024-05-01T12:34:56" + new string('0', 45), "2024-05-01T12:34:56" + new string('0', 46),
        "2024-05-01T12:34:56Zé" + new string('0', 44),
    ];

    private static readonly string[] Texts =
        ["Ada Lovelace", "Zoë Ångström", "Nordic 🌍", "O'Brien; DROP TABLE X; --", "Kaffee ☕", "North", "Electronics", "Home & Garden", "tab\there", "é"];

    private static readonly string[] BadTexts =
        ["   ", "", "line\nbreak", "nul\0char", "quote\"and\\slash", new string('x', 70), new string('y', 201)];

    private static readonly string[] Numbers = ["1299.99", "0", "2", "0.10", "1E2", "3.0", "7", "1000000"];

    private static readonly string[] BadNumbers = ["-1", "2.5", "12.999", "1e300", "99999999999", "1000001", "-0.01"];

    private static readonly string[] OtherValues =
        ["null", "true", "false", "{}", "[]", "{\"name\": \"Books\"}", "[1, [2, [3]]]", "42", "\"text\"", "-0", "\"\\ud800\"", "\"a\\udc00b\"", "\"\\u00e9\""];

    /// <summary>A random event, valid or not, as bytes.</summary>
    private static byte[] RandomEvent(Random random)
    {
        var fields = new List<(string Name, string Raw)>
        {
            ("order_id", Quote(Sometimes(random, BadTexts) ?? (random.Next(4) == 0 ? Pick(random, Texts) : RandomGuid(random)), random)),
            ("order_timestamp", Quote(Sometimes(random, BadTimestamps) ?? Pick(random, Timestamps), random)),
            ("customer_id", Quote(Sometimes(random, BadTexts) ?? $"CUST-{random.Next(100):0000}", random)),
            ("customer_name", Quote(Sometimes(random, BadTexts) ?? Pick(random, Texts), random)),
            ("customer_region", Quote(Sometimes(random, BadTexts) ?? Pick(random, Texts), random)),
            ("product_id", Quote(Sometimes(random, BadTexts) ?? $"P{random.Next(50)}", random)),
            ("product_name", Quote(Sometimes(random, BadTexts) ?? Pick(random, Texts), random)),
            ("category", Quote(Sometimes(random, BadTexts) ?? Pick(random, Texts), random)),
            ("price", Sometimes(random, BadNumbers) ?? (random.Next(3) == 0 ? Pick(random, Numbers) : $"{random.Next(10_000)}.{random.Next(100):00}")),
            ("quantity", Sometimes(random, BadNumbers) ?? (random.Next(3) == 0 ? Pick(random, Numbers) : random.Next(1, 10).ToString(CultureInfo.InvariantCulture))),
        };

        var damage = random.Next(2) == 0 ? 0 : random.Next(1, 4); // Half the events keep their shape; the others take blows.
        for (var i = 0; i < damage; i++)
        {
            var at = random.Next(fields.Count);
            switch (random.Next(8))
            {
                case 0 when fields.Count > 0: fields.RemoveAt(at); break;
                case 1 when fields.Count > 0: fields.Add((fields[at].Name, random.Next(2) == 0 ? fields[at].Raw : Pick(random, OtherValues))); break;
                case 2 when fields.Count > 0: fields[at] = (fields[at].Name, Pick(random, OtherValues)); break;
                case 3: fields.Insert(at, (Pick(random, ["note", "extra", "Order_Id", "price ", "\\ud800", "pri\\udc00ce", "\\u0070rice"]), Pick(random, OtherValues.Concat(Texts.Concat(BadTexts).Select(t => Quote(t, random))).ToArray()))); break;
                case 4 when fields.Count > 0: fields[at] = (EscapeName(fields[at].Name, random), fields[at].Raw); break;
                case 5: fields.Insert(at, ("deep", string.Concat(Enumerable.Repeat("[", random.Next(10, 20))) + string.Concat(Enumerable.Repeat("]", random.Next(10, 20))))); break;
                case 6 when fields.Count > 1: (fields[at], fields[0]) = (fields[0], fields[at]); break;
                default: break;
            }
        }

        var separator = random.Next(4) == 0 ? ",\n  " : random.Next(2) == 0 ? ", " : ",";
        var json = "{" + string.Join(separator, fields.Select(f => $"\"{f.Name}\":{(random.Next(3) == 0 ? " " : "")}{f.Raw}")) + "}";
        json = random.Next(20) switch
        {
            0 => "[" + json + "]",
            1 => json + Pick(random, [" ", "\n", "x", "}", ",{}", "{}"]),
            2 => json[..random.Next(json.Length)],
            3 => Pick(random, ["null", "42", "\"order\"", "   ", "[1, 2, 3]", "{", "not json"]),
            _ => json,
        };

        var bytes = Encoding.UTF8.GetBytes(json);
        if (bytes.Length > 0 && random.Next(10) == 0)
        {
            // A byte flipped anywhere: a broken document, a changed value, or invalid UTF-8 inside a string.
            bytes[random.Next(bytes.Length)] = (byte)Pick(random, [0xC3, 0xFF, 0x80, (int)'"', (int)'\\', (int)'x', 0x00, (int)' ']);
        }

        return bytes;
    }

    private static T Pick<T>(Random random, T[] items) => items[random.Next(items.Length)];

    /// <summary>One of the bad values, one time in forty (ten fields: about one event in five has one).</summary>
    private static string? Sometimes(Random random, string[] bad) => random.Next(40) == 0 ? Pick(random, bad) : null;

    private static string RandomGuid(Random random)
    {
        var bytes = new byte[16];
        random.NextBytes(bytes);
        return new Guid(bytes).ToString();
    }

    /// <summary>A JSON string of the text, escaped as JSON requires, and sometimes where it need not be.</summary>
    private static string Quote(string text, Random random)
    {
        var builder = new StringBuilder("\"");
        var escapeAll = random.Next(8) == 0;
        var escapeOne = random.Next(8) == 0 ? random.Next(Math.Max(1, text.Length)) : -1;
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (c is '"' or '\\')
            {
                builder.Append('\\').Append(c);
            }
            else if (c < 0x20 || (escapeAll && c > 0x7e) || i == escapeOne)
            {
                builder.Append(CultureInfo.InvariantCulture, $"\\u{(int)c:x4}");
            }
            else
            {
                builder.Append(c);
            }
        }

        return builder.Append('"').ToString();
    }

    private static string EscapeName(string name, Random random)
    {
        var at = random.Next(name.Length);
        return name[..at] + $"\\u{(int)name[at]:x4}" + name[(at + 1)..];
    }

    /// <summary>The validator's rules, read from a <see cref="JsonDocument"/>, field after field, the first problem winning.</summary>
    private static class ReferenceReader
    {
        public static bool TryRead(byte[] bytes, DateTime latestAllowed, out ParsedOrder order, out Rejection? rejection)
        {
            order = default;
            rejection = bytes.Length == 0 ? new Rejection(Rejection.EmptyCode, "empty")
                : bytes.Length > OrderValidator.MaxMessageBytes ? new Rejection(Rejection.TooLargeCode, "too large")
                : null;
            if (rejection is not null)
            {
                return false;
            }

            JsonDocument document;
            try
            {
                document = JsonDocument.Parse(bytes, new JsonDocumentOptions { MaxDepth = 16 });
            }
            catch (JsonException ex)
            {
                rejection = new Rejection(Rejection.MalformedCode, $"not valid JSON: {ex.Message}");
                return false;
            }

            using (document)
            {
                var root = document.RootElement;
                if (root.ValueKind != JsonValueKind.Object)
                {
                    rejection = new Rejection(Rejection.MalformedCode, $"expected a JSON object, found {root.ValueKind}");
                    return false;
                }

                try
                {
                    rejection = Read(root, latestAllowed, out order);
                }
                catch (InvalidOperationException)
                {
                    rejection = new Rejection(Rejection.MalformedCode, OrderValidator.NotTextReason);
                }

                return rejection is null;
            }
        }

        private static Rejection? Read(JsonElement root, DateTime latestAllowed, out ParsedOrder order)
        {
            order = default;
            var texts = new string[8];
            var textIndex = 0;
            DateTime timestamp = default;
            decimal price = 0;
            var quantity = 0;
            foreach (var name in FieldNames)
            {
                var found = root.EnumerateObject().Where(p => NameIs(p, name)).ToList();
                if (found.Count == 0 || found[^1].Value.ValueKind == JsonValueKind.Null)
                {
                    return new Rejection(Rejection.MissingFieldCode, $"required field '{name}' is missing");
                }

                if (found.Count > 1)
                {
                    return new Rejection(Rejection.MalformedCode, $"field '{name}' appears {found.Count} times");
                }

                var value = found[0].Value;
                var (kind, expected) = name switch
                {
                    "price" => (JsonValueKind.Number, "a number"),
                    "quantity" => (JsonValueKind.Number, "a whole number"),
                    "order_timestamp" => (JsonValueKind.String, "an ISO-8601 string"),
                    _ => (JsonValueKind.String, "a string"),
                };
                if (value.ValueKind != kind)
                {
                    return new Rejection(Rejection.WrongTypeCode, $"'{name}' is a {value.ValueKind.ToString().ToLowerInvariant()}; expected {expected}");
                }

                var problem = name switch
                {
                    "order_timestamp" => Timestamp(name, value.GetString()!, latestAllowed, out timestamp),
                    "price" => Price(name, value, out price),
                    "quantity" => Quantity(name, value, out quantity),
                    _ => Text(name, value.GetString()!, out texts[textIndex++]),
                };
                if (problem is not null)
                {
                    return problem;
                }
            }

            order = new ParsedOrder(texts[0], timestamp, texts[1], texts[2], texts[3], texts[4], texts[5], texts[6], price, quantity);
            return null;
        }

        /// <summary>A property whose name's escapes make no text (an unpaired surrogate) is no field.</summary>
        private static bool NameIs(JsonProperty property, string name)
        {
            try
            {
                return property.NameEquals(name);
            }
            catch (InvalidOperationException)
            {
                return false;
            }
        }

        private static Rejection? Text(string name, string text, out string value)
        {
            var descriptive = name is "customer_name" or "customer_region" or "product_name" or "category";
            var max = name.EndsWith("_id", StringComparison.Ordinal) ? OrderValidator.MaxIdLength
                : name is "customer_name" or "product_name" ? OrderValidator.MaxNameLength : OrderValidator.MaxLabelLength;
            value = descriptive ? OrderValidator.NormalizeDescription(text) : text;
            return string.IsNullOrWhiteSpace(value) ? new Rejection(Rejection.MissingFieldCode, $"'{name}' is empty")
                : value.Length > max ? new Rejection(Rejection.OutOfRangeCode, $"'{name}' is {value.Length} characters long; at most {max} are allowed")
                : value.Any(char.IsControl) ? new Rejection(Rejection.OutOfRangeCode, $"'{name}' contains a control character (such as NUL or a line break)")
                : null;
        }

        private static Rejection? Timestamp(string name, string text, DateTime latestAllowed, out DateTime value)
        {
            if (!OrderValidator.TryParseIso(text, out value))
            {
                var shown = text.Length <= 40 ? text : text[..40] + "...";
                return new Rejection(Rejection.WrongTypeCode, $"'{name}' is '{shown}', not an ISO-8601 date and time such as 2024-05-01T12:34:56Z");
            }

            return value < new DateTime(1900, 1, 1, 0, 0, 0, DateTimeKind.Utc) || value >= new DateTime(2200, 1, 1, 0, 0, 0, DateTimeKind.Utc)
                ? new Rejection(Rejection.OutOfRangeCode, $"'{name}' is {text}; expected a time between 1900 and 2200")
                : value > latestAllowed
                    ? new Rejection(Rejection.OutOfRangeCode,
                        $"'{name}' is {text}, later than now plus the clock skew allowed (Ingestion:MaxFutureSkew; accepted until {latestAllowed:yyyy-MM-ddTHH:mm:ssZ})")
                    : null;
        }

        private static Rejection? Price(string name, JsonElement element, out decimal value) =>
            !element.TryGetDecimal(out value) || value < 0 || value > OrderValidator.MaxPrice
                ? new Rejection(Rejection.OutOfRangeCode, $"'{name}' is {element.GetRawText()}; expected a number from 0 to {OrderValidator.MaxPrice}")
                : decimal.Round(value, 2) != value
                    ? new Rejection(Rejection.OutOfRangeCode, $"'{name}' is {element.GetRawText()}; prices have at most two decimal places")
                    : null;

        private static Rejection? Quantity(string name, JsonElement element, out int value) =>
            !element.TryGetInt32(out value) ? new Rejection(Rejection.WrongTypeCode, $"'{name}' is {element.GetRawText()}; expected a whole number")
                : value < 1 || value > OrderValidator.MaxQuantity ? new Rejection(Rejection.OutOfRangeCode, $"'{name}' is {value}; expected 1 to {OrderValidator.MaxQuantity}")
                : null;
    }
}
