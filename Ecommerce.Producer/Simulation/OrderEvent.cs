using System.Text.Json.Serialization;

namespace Ecommerce.Producer.Simulation;

/// <summary>
/// One order on the wire (topic <c>orders</c>): the exact fields, names and types the original Python producer
/// sent, so either producer can feed the pipeline. Serialised as UTF-8 JSON in snake_case.
/// </summary>
public sealed record OrderEvent(
    [property: JsonPropertyName("order_id")] string OrderId,
    [property: JsonPropertyName("order_timestamp")] DateTimeOffset OrderTimestamp,
    [property: JsonPropertyName("customer_id")] string CustomerId,
    [property: JsonPropertyName("customer_name")] string CustomerName,
    [property: JsonPropertyName("customer_region")] string CustomerRegion,
    [property: JsonPropertyName("product_id")] string ProductId,
    [property: JsonPropertyName("product_name")] string ProductName,
    [property: JsonPropertyName("category")] string Category,
    [property: JsonPropertyName("price")] decimal Price,
    [property: JsonPropertyName("quantity")] int Quantity);

[JsonSerializable(typeof(OrderEvent))]
internal sealed partial class OrderEventJsonContext : JsonSerializerContext;
