using System.Text.Json.Serialization;

namespace Ecommerce.Consumer.Warehouse.Snowflake;

// The request and response bodies of Snowflake's SQL API v2 (POST /api/v2/statements and
// GET /api/v2/statements/{handle}), as far as this service uses them. The loopback test double in Ecommerce.Tests
// reads and writes the same shapes.

/// <summary>One bind variable: a Snowflake type name and the value as text (null for SQL NULL).</summary>
public sealed record SqlApiBinding(
    [property: JsonPropertyName("type")] string Type,
    [property: JsonPropertyName("value")] string? Value);

/// <summary>The body of a statement submission.</summary>
public sealed class SqlApiRequest
{
    [JsonPropertyName("statement")]
    public required string Statement { get; init; }

    /// <summary>Seconds Snowflake may run the statement before cancelling it.</summary>
    [JsonPropertyName("timeout")]
    public long Timeout { get; init; }

    [JsonPropertyName("database")]
    public string? Database { get; init; }

    [JsonPropertyName("schema")]
    public string? Schema { get; init; }

    [JsonPropertyName("warehouse")]
    public string? Warehouse { get; init; }

    [JsonPropertyName("role")]
    public string? Role { get; init; }

    /// <summary>Bind variables by position, "1" first.</summary>
    [JsonPropertyName("bindings")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public Dictionary<string, SqlApiBinding>? Bindings { get; init; }

    /// <summary>Session parameters of this request, e.g. MULTI_STATEMENT_COUNT.</summary>
    [JsonPropertyName("parameters")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public Dictionary<string, string>? Parameters { get; init; }
}

/// <summary>
/// Every answer of the API: a result set (200), a statement still running (202, <c>code</c> 333334), or an
/// error (422 and others) with Snowflake's error code, SQL state and message.
/// </summary>
public sealed class SqlApiResponse
{
    [JsonPropertyName("code")]
    public string? Code { get; init; }

    [JsonPropertyName("sqlState")]
    public string? SqlState { get; init; }

    [JsonPropertyName("message")]
    public string? Message { get; init; }

    [JsonPropertyName("statementHandle")]
    public string? StatementHandle { get; init; }

    [JsonPropertyName("resultSetMetaData")]
    public SqlApiResultSetMetaData? ResultSetMetaData { get; init; }

    /// <summary>Rows of this partition; every value is text (or null), decoded with the column's type.</summary>
    [JsonPropertyName("data")]
    public List<List<string?>>? Data { get; init; }
}

public sealed class SqlApiResultSetMetaData
{
    [JsonPropertyName("numRows")]
    public long NumRows { get; init; }

    [JsonPropertyName("rowType")]
    public List<SqlApiColumn> RowType { get; init; } = [];

    /// <summary>The partitions of the result; the first comes with the response, the others by <c>?partition=N</c>.</summary>
    [JsonPropertyName("partitionInfo")]
    public List<SqlApiPartition> PartitionInfo { get; init; } = [];
}

public sealed class SqlApiColumn
{
    [JsonPropertyName("name")]
    public string Name { get; init; } = "";

    /// <summary>Lower-case Snowflake type: fixed, real, text, boolean, date, time, timestamp_ntz, timestamp_ltz, timestamp_tz...</summary>
    [JsonPropertyName("type")]
    public string Type { get; init; } = "";

    [JsonPropertyName("scale")]
    public int? Scale { get; init; }

    [JsonPropertyName("precision")]
    public int? Precision { get; init; }

    [JsonPropertyName("length")]
    public long? Length { get; init; }

    [JsonPropertyName("nullable")]
    public bool Nullable { get; init; }
}

public sealed class SqlApiPartition
{
    [JsonPropertyName("rowCount")]
    public long RowCount { get; init; }

    [JsonPropertyName("uncompressedSize")]
    public long UncompressedSize { get; init; }

    [JsonPropertyName("compressedSize")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public long? CompressedSize { get; init; }
}

[JsonSerializable(typeof(SqlApiRequest))]
[JsonSerializable(typeof(SqlApiResponse))]
public sealed partial class SqlApiJsonContext : JsonSerializerContext;
