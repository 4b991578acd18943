namespace Ecommerce.Consumer.Warehouse;

/// <summary>
/// A cheaper statement to run in place of another (or none: <paramref name="Statement"/> null) once nothing has
/// committed to the warehouse since the count <see cref="IWarehouseProvider.CommitSequence"/> was
/// <paramref name="Since"/>: see <see cref="SqlStatement.WhenNothingCommitted"/>.
/// </summary>
public sealed record CommitShortcut(long Since, SqlStatement? Statement);
