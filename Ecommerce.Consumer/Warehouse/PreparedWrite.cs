namespace Ecommerce.Consumer.Warehouse;

/// <summary>
/// A transaction made ready by <see cref="StarSchemaWriter.PrepareModelAsync"/> (a modelling cycle) or
/// <see cref="StarSchemaWriter.PrepareWriteAsync"/> (a batch): run it once (it may still be refused as stale, as any
/// batch), or discard it.
/// </summary>
public sealed class PreparedWrite(Func<CancellationToken, Task<BatchWriteResult>> execute, Action discard)
{
    public Task<BatchWriteResult> ExecuteAsync(CancellationToken cancellationToken) => execute(cancellationToken);

    public void Discard() => discard();
}
