using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Ecommerce.Consumer.Warehouse.Snowflake;

/// <summary>
/// Row sets as Snowflake reads them: the whole set in one bind variable, a JSON array of rows, each row an array of
/// its values as strings, unpacked in SQL with <c>FLATTEN</c> and cast to the column types. One bind variable instead
/// of one per value keeps statements small and quick to compile (a bound value costs some 30 bytes of request on
/// top of itself, and a statement of 15,000 bind variables takes Snowflake long to compile), so a batch takes few
/// statements. Values travel as strings so that nothing is rounded on the way through a JSON number, in the text the
/// SQL API gives a bind variable (<see cref="SnowflakeValues.Bind"/>): whole numbers and decimals as written, instants
/// as nanoseconds since the epoch, days as milliseconds since the epoch.
/// </summary>
internal static class SnowflakeRowSets
{
    private static readonly JsonWriterOptions Writer = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>
    /// The rows of <paramref name="source"/> as JSON texts of at most <paramref name="maxBytes"/> UTF-8 bytes each
    /// (a single row larger than that is a text of its own). An empty set gives no text.
    /// </summary>
    public static IReadOnlyList<string> Encode(RowSet source, int maxBytes)
    {
        var slices = new List<string>();
        var buffer = new ArrayBufferWriter<byte>();
        var rowBuffer = new ArrayBufferWriter<byte>();
        for (var r = 0; r < source.Rows.Count; r++)
        {
            var row = source.Rows[r];
            if (row.Length != source.Columns.Count)
            {
                throw new ArgumentException($"Row {r} of row set '{source.Name}' has {row.Length} values for {source.Columns.Count} columns.", nameof(source));
            }

            rowBuffer.ResetWrittenCount();
            using (var json = new Utf8JsonWriter(rowBuffer, Writer))
            {
                json.WriteStartArray();
                foreach (var value in row)
                {
                    if (Text(value) is { } text)
                    {
                        json.WriteStringValue(text);
                    }
                    else
                    {
                        json.WriteNullValue();
                    }
                }

                json.WriteEndArray();
            }

            // '[' + rows separated by ',' + ']'.
            if (buffer.WrittenCount > 0 && buffer.WrittenCount + 1 + rowBuffer.WrittenCount + 1 > maxBytes)
            {
                slices.Add(Close(buffer));
            }

            Append(buffer, buffer.WrittenCount == 0 ? "["u8 : ","u8);
            Append(buffer, rowBuffer.WrittenSpan);
        }

        if (buffer.WrittenCount > 0)
        {
            slices.Add(Close(buffer));
        }

        return slices;
    }

    /// <summary>
    /// <c>(SELECT CAST(GET(r.VALUE, 0) AS type) AS A, ... FROM TABLE(FLATTEN(INPUT => PARSE_JSON(?))) AS r)</c>: the
    /// rows of one encoded text, bound to the <c>?</c>, with the columns and types of <paramref name="source"/>.
    /// </summary>
    public static string Select(RowSet source, Func<Column, string> sqlType)
    {
        var text = new StringBuilder("(SELECT ");
        for (var i = 0; i < source.Columns.Count; i++)
        {
            var column = source.Columns[i];
            var value = string.Create(CultureInfo.InvariantCulture, $"GET(r.VALUE, {i})");
            text.Append(i == 0 ? "" : ", ").Append(column.Type switch
            {
                ColumnType.Timestamp => $"TO_TIMESTAMP_NTZ(CAST({value} AS DECIMAL(38,0)), 9)",
                ColumnType.Date => $"CAST(TO_TIMESTAMP_NTZ(CAST({value} AS DECIMAL(38,0)), 3) AS DATE)",
                _ => $"CAST({value} AS {sqlType(column)})",
            }).Append(" AS ").Append(column.Name);
        }

        return text.Append(" FROM TABLE(FLATTEN(INPUT => PARSE_JSON(?))) AS r)").ToString();
    }

    /// <summary>A value as the string the column's cast reads back (its bind variable's text), or null.</summary>
    private static string? Text(object? value) => value is null ? null : SnowflakeValues.Bind(value).Value;

    private static string Close(ArrayBufferWriter<byte> buffer)
    {
        Append(buffer, "]"u8);
        var text = Encoding.UTF8.GetString(buffer.WrittenSpan);
        buffer.ResetWrittenCount();
        return text;
    }

    private static void Append(ArrayBufferWriter<byte> buffer, ReadOnlySpan<byte> bytes)
    {
        bytes.CopyTo(buffer.GetSpan(bytes.Length));
        buffer.Advance(bytes.Length);
    }
}
