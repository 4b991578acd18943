using System.Text.Json.Serialization;

namespace Ecommerce.Consumer.Warehouse.Snowflake;

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
