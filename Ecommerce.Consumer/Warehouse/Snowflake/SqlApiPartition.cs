using System.Text.Json.Serialization;

namespace Ecommerce.Consumer.Warehouse.Snowflake;

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
