using System.Text.Json.Serialization;

namespace Ecommerce.Consumer.Warehouse.Snowflake;

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

    /// <summary>
    /// Present on the answer to a multi-statement request: the handle of each statement, whose own results are fetched by
    /// handle. Such an answer carries a one-row summary, not the statements' rows.
    /// </summary>
    [JsonPropertyName("statementHandles")]
    public List<string>? StatementHandles { get; init; }

    [JsonPropertyName("resultSetMetaData")]
    public SqlApiResultSetMetaData? ResultSetMetaData { get; init; }

    /// <summary>Rows of this partition; every value is text (or null), decoded with the column's type.</summary>
    [JsonPropertyName("data")]
    public List<List<string?>>? Data { get; init; }
}
