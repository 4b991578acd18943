using System.Text.Json.Serialization;

namespace Ecommerce.Consumer.Warehouse.Snowflake;

/// <summary>One bind variable: a Snowflake type name and the value as text (the API documents every value as a string).</summary>
public sealed record SqlApiBinding(
    [property: JsonPropertyName("type")] string Type,
    [property: JsonPropertyName("value")] string Value);
