using System.Text.Json.Serialization;

namespace Ecommerce.Consumer.Warehouse.Snowflake;

// The request and response bodies of Snowflake's SQL API v2 (POST /api/v2/statements and
// GET /api/v2/statements/{handle}), as far as this service uses them (SqlApi*.cs). The loopback test double in
// Ecommerce.Testing reads and writes the same shapes.

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
