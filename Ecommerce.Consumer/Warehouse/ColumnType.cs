namespace Ecommerce.Consumer.Warehouse;

/// <summary>Column types the star schema uses, named independently of any one warehouse's dialect.</summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Naming", "CA1720", Justification = "The members are SQL type names on purpose.")]
public enum ColumnType
{
    Text,
    Integer,
    BigInt,
    Decimal,
    Timestamp,
    Date,
    Boolean,
}
