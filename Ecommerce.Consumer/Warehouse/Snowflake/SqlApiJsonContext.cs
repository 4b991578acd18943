using System.Text.Json.Serialization;

namespace Ecommerce.Consumer.Warehouse.Snowflake;

[JsonSerializable(typeof(SqlApiRequest))]
[JsonSerializable(typeof(SqlApiResponse))]
public sealed partial class SqlApiJsonContext : JsonSerializerContext;
