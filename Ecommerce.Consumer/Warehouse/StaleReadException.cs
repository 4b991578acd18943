namespace Ecommerce.Consumer.Warehouse;

/// <summary>
/// Another writer stored one of the batch's orders, or an order of one of its customers, after the batch read them:
/// the batch's classification or customer histories are out of date. Nothing was written; read again and retry.
/// </summary>
public sealed class StaleReadException(string message, Exception innerException) : Exception(message, innerException);
