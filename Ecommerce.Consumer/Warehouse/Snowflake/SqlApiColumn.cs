using System.Text.Json.Serialization;

namespace Ecommerce.Consumer.Warehouse.Snowflake;

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
