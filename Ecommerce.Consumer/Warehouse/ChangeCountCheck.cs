namespace Ecommerce.Consumer.Warehouse;

/// <summary>
/// A check a provider that counts the rows a statement changed (DuckDB) may leave out: when the statement changes
/// exactly <paramref name="Rows"/> rows, which proves what <paramref name="Check"/> would; on any other count the check
/// runs right after it, in the same transaction, and refuses or passes as it would have anyway. See
/// <see cref="SqlStatement.CheckUnlessChanged"/>.
/// </summary>
public sealed record ChangeCountCheck(int Rows, SqlStatement Check);
