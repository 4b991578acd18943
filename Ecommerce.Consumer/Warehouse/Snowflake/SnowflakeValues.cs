using System.Globalization;

namespace Ecommerce.Consumer.Warehouse.Snowflake;

/// <summary>
/// Values to and from the SQL API's text forms: bind variables carry a Snowflake type and a string; result
/// columns arrive as strings to be read with their column's type.
/// </summary>
public static class SnowflakeValues
{
    private static readonly DateTime Epoch = DateTime.UnixEpoch;

    /// <summary>
    /// A value as a bind variable, in a form the SQL API documents (developer-guide/sql-api/submitting-requests): every
    /// value a string; FIXED for whole numbers, as its examples show; a decimal with a fraction as TEXT, which Snowflake
    /// converts where a number is expected (the statement may CAST it). NULL has no documented form: write it into the
    /// statement as the literal NULL instead (as <see cref="SnowflakeWarehouseProvider"/> does).
    /// </summary>
    public static SqlApiBinding Bind(object value) => value switch
    {
        null => throw new ArgumentNullException(nameof(value), "NULL is not bound: the SQL API documents no form for it; write NULL into the statement."),
        string text => new SqlApiBinding("TEXT", text),
        int or long or short or byte => new SqlApiBinding("FIXED", Convert.ToString(value, CultureInfo.InvariantCulture)!),
        decimal number when number == decimal.Truncate(number) => new SqlApiBinding("FIXED", decimal.Truncate(number).ToString(CultureInfo.InvariantCulture)),
        decimal number => new SqlApiBinding("TEXT", number.ToString(CultureInfo.InvariantCulture)),
        double or float => new SqlApiBinding("REAL", Convert.ToString(value, CultureInfo.InvariantCulture)!),
        bool flag => new SqlApiBinding("BOOLEAN", flag ? "true" : "false"),
        DateTime instant => new SqlApiBinding("TIMESTAMP_NTZ", TimestampText(instant)),
        DateOnly date => new SqlApiBinding("DATE", DateText(date)),
        _ => throw new NotSupportedException($"Cannot bind a value of type {value.GetType()} for Snowflake."),
    };

    /// <summary>Reads one result value; text the column type does not describe is returned as it came.</summary>
    public static object? Decode(SqlApiColumn column, string? text)
    {
        ArgumentNullException.ThrowIfNull(column);
        if (text is null)
        {
            return null;
        }

        switch (column.Type.ToLowerInvariant())
        {
            case "fixed" when (column.Scale ?? 0) == 0:
                // Boxed apart: a conditional expression would widen the long to decimal.
                if (long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var whole))
                {
                    return whole;
                }

                return decimal.Parse(text, NumberStyles.Number, CultureInfo.InvariantCulture);
            case "fixed":
                return decimal.Parse(text, NumberStyles.Number, CultureInfo.InvariantCulture);
            case "real":
                return text switch
                {
                    "inf" or "Infinity" => double.PositiveInfinity,
                    "-inf" or "-Infinity" => double.NegativeInfinity,
                    _ => double.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture),
                };
            case "boolean":
                return text is "true" or "TRUE" or "1";
            case "date":
                return DateOnly.FromDateTime(Epoch.AddDays(long.Parse(text, CultureInfo.InvariantCulture)));
            case "timestamp_ntz":
            case "timestamp_ltz":
                return FromEpochSeconds(text);
            case "timestamp_tz":
                // "<seconds since the epoch, UTC> <offset in minutes + 1440>": the instant is in the first part.
                var space = text.IndexOf(' ', StringComparison.Ordinal);
                return FromEpochSeconds(space < 0 ? text : text[..space]);
            default:
                return text;
        }
    }

    /// <summary>
    /// A UTC timestamp as Snowflake binds TIMESTAMP_NTZ: nanoseconds since the epoch. Computed wide, because years
    /// after 2262 (such as an end-of-time 9999-12-31) hold more nanoseconds than a long does.
    /// </summary>
    public static string TimestampText(DateTime instant)
    {
        var utc = instant.Kind == DateTimeKind.Local ? instant.ToUniversalTime() : instant;
        return (new System.Numerics.BigInteger((utc - Epoch).Ticks) * 100).ToString(CultureInfo.InvariantCulture);
    }

    /// <summary>A date as Snowflake binds DATE: milliseconds since the epoch at midnight.</summary>
    public static string DateText(DateOnly date) =>
        ((long)(date.ToDateTime(TimeOnly.MinValue, DateTimeKind.Utc) - Epoch).TotalMilliseconds).ToString(CultureInfo.InvariantCulture);

    private static DateTime FromEpochSeconds(string text)
    {
        // Seconds with up to nine decimals; a tick is 100 ns, so the first seven decimals are kept exactly.
        var dot = text.IndexOf('.', StringComparison.Ordinal);
        var seconds = long.Parse(dot < 0 ? text : text[..dot], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
        var fraction = dot < 0 ? "" : text[(dot + 1)..];
        var ticks = fraction.Length == 0 ? 0 : long.Parse(fraction.PadRight(7, '0')[..7], CultureInfo.InvariantCulture);
        var negative = text.StartsWith('-');
        return DateTime.SpecifyKind(Epoch.AddTicks((seconds * TimeSpan.TicksPerSecond) + (negative ? -ticks : ticks)), DateTimeKind.Utc);
    }
}
