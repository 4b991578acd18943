namespace Ecommerce.Consumer.Warehouse;

/// <summary>Another writer has already stored part of the batch: its partitions' progress moved on meanwhile.</summary>
public sealed class StaleBatchException(string message, Exception innerException) : Exception(message, innerException);
