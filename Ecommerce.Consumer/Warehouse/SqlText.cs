using System.Text;

namespace Ecommerce.Consumer.Warehouse;

/// <summary>Small, dialect-neutral helpers over SQL text: enough to split a script, never to interpret it.</summary>
public static class SqlText
{
    /// <summary>
    /// Splits a script at the <c>;</c> that end its statements, leaving those inside string literals, quoted
    /// names and comments alone. Returns the statements without their final <c>;</c>, skipping empty ones unless
    /// <paramref name="keepEmpty"/> (then an empty statement before a <c>;</c> is kept as an empty string).
    /// </summary>
    public static IReadOnlyList<string> SplitStatements(string script, bool keepEmpty = false)
    {
        ArgumentNullException.ThrowIfNull(script);
        var statements = new List<string>();
        var current = new StringBuilder();
        var hasCode = false;
        for (var i = 0; i < script.Length; i++)
        {
            var c = script[i];
            if (c == '-' && Next(script, i) == '-')
            {
                var end = script.IndexOf('\n', i);
                end = end < 0 ? script.Length : end;
                current.Append(script, i, end - i);
                i = end - 1;
            }
            else if (c == '/' && Next(script, i) == '*')
            {
                var end = script.IndexOf("*/", i + 2, StringComparison.Ordinal);
                end = end < 0 ? script.Length : end + 2;
                current.Append(script, i, end - i);
                i = end - 1;
            }
            else if (c is '\'' or '"')
            {
                // A quote inside is written twice ('it''s'), which this loop reads as two adjacent literals.
                var end = script.IndexOf(c, i + 1);
                end = end < 0 ? script.Length : end + 1;
                current.Append(script, i, end - i);
                hasCode = true;
                i = end - 1;
            }
            else if (c == ';')
            {
                if (hasCode || keepEmpty)
                {
                    statements.Add(hasCode ? current.ToString().Trim() : "");
                }

                current.Clear();
                hasCode = false;
            }
            else
            {
                current.Append(c);
                hasCode |= !char.IsWhiteSpace(c);
            }
        }

        if (hasCode)
        {
            statements.Add(current.ToString().Trim());
        }

        return statements;
    }

    /// <summary>The number of <c>?</c> placeholders outside literals, quoted names and comments.</summary>
    public static int CountPlaceholders(string sql)
    {
        ArgumentNullException.ThrowIfNull(sql);
        var count = 0;
        for (var i = 0; i < sql.Length; i++)
        {
            var c = sql[i];
            if (c == '-' && Next(sql, i) == '-')
            {
                var end = sql.IndexOf('\n', i);
                i = end < 0 ? sql.Length : end;
            }
            else if (c == '/' && Next(sql, i) == '*')
            {
                var end = sql.IndexOf("*/", i + 2, StringComparison.Ordinal);
                i = end < 0 ? sql.Length : end + 1;
            }
            else if (c is '\'' or '"')
            {
                var end = sql.IndexOf(c, i + 1);
                i = end < 0 ? sql.Length : end;
            }
            else if (c == '?')
            {
                count++;
            }
        }

        return count;
    }

    private static char Next(string text, int index) => index + 1 < text.Length ? text[index + 1] : '\0';
}
