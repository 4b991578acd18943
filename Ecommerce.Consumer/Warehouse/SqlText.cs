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
            if (SkipLiteralOrComment(script, i) is var skipped && skipped > i)
            {
                // A quote inside a literal is written twice ('it''s'), which reads as two adjacent literals.
                current.Append(script, i, skipped - i);
                hasCode |= c is '\'' or '"';
                i = skipped - 1;
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
            if (SkipLiteralOrComment(sql, i) is var skipped && skipped > i)
            {
                i = skipped - 1;
            }
            else if (c == '?')
            {
                count++;
            }
        }

        return count;
    }

    /// <summary>
    /// The statement with each <c>{name}</c> that <paramref name="rowSet"/> knows replaced by what it gives, and each
    /// <c>?</c> by what <paramref name="parameter"/> gives (left as it is without one), in one pass, left to right, over
    /// the statement's own text: literals, quoted names and comments are copied as they are (a row set named in a comment
    /// stays a word), and text put in for one placeholder is never searched for another.
    /// </summary>
    internal static string Render(string sql, Func<string, string?> rowSet, Func<string>? parameter = null)
    {
        var text = new StringBuilder(sql.Length);
        for (var i = 0; i < sql.Length; i++)
        {
            var c = sql[i];
            if (SkipLiteralOrComment(sql, i) is var skipped && skipped > i)
            {
                text.Append(sql, i, skipped - i);
                i = skipped - 1;
            }
            else if (c == '?' && parameter is not null)
            {
                text.Append(parameter());
            }
            else if (c == '{' && sql.IndexOf('}', i) is var end and > 0 && rowSet(sql[(i + 1)..end]) is { } relation)
            {
                text.Append(relation);
                i = end;
            }
            else
            {
                text.Append(c);
            }
        }

        return text.ToString();
    }

    /// <summary>
    /// Where the string literal, quoted name or comment starting at <paramref name="start"/> ends (the index just
    /// past it; a line comment ends before its line break), or <paramref name="start"/> itself when none starts
    /// there. One that never closes runs to the end of the text.
    /// </summary>
    internal static int SkipLiteralOrComment(string sql, int start)
    {
        var c = sql[start];
        int end;
        if (c == '-' && Next(sql, start) == '-')
        {
            end = sql.IndexOf('\n', start);
            return end < 0 ? sql.Length : end;
        }

        if (c == '/' && Next(sql, start) == '*')
        {
            end = sql.IndexOf("*/", start + 2, StringComparison.Ordinal);
            return end < 0 ? sql.Length : end + 2;
        }

        if (c is '\'' or '"')
        {
            end = sql.IndexOf(c, start + 1);
            return end < 0 ? sql.Length : end + 1;
        }

        return start;
    }

    private static char Next(string text, int index) => index + 1 < text.Length ? text[index + 1] : '\0';
}
