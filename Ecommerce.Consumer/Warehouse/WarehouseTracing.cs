using System.Diagnostics;

namespace Ecommerce.Consumer.Warehouse;

/// <summary>
/// The warehouse's spans (source <c>Ecommerce.Warehouse</c>), apart from the messaging spans of
/// <c>Ecommerce.Messaging</c>: one per batch transaction, with the OpenTelemetry database attributes.
/// </summary>
public static class WarehouseTracing
{
    public const string ActivitySourceName = "Ecommerce.Warehouse";

    internal static readonly ActivitySource Source = new(ActivitySourceName);
}
