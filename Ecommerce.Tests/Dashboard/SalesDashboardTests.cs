using System.Globalization;
using Ecommerce.Testing;
using Ecommerce.Tests.Infrastructure;
using Microsoft.Playwright;

namespace Ecommerce.Tests.Dashboard;

/// <summary>
/// The live sales dashboard in a real headless Chromium, served by the ingestion service while the simulator sends
/// orders: numbers appear, change as orders arrive, and equal what the API says.
/// </summary>
public sealed class SalesDashboardTests : PipelineTest
{
    private static readonly string[] ChromiumArgs =
    [
        // As root and on a closed network: no sandbox, and none of Chromium's own background connections.
        "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync",
    ];

    [BrowserFact(Timeout = 300_000)]
    public async Task The_page_shows_live_numbers_that_change_as_orders_arrive_and_match_the_api()
    {
        await using var consumer = StartConsumer();
        await consumer.WaitUntilHealthyAsync(Patience);
        // Three months of history first, then orders of now.
        await using var simulator = StartSimulator(0, 100, ("Simulator__BackfillDays", "90"), ("Simulator__BackfillCount", "3000"),
            ("Simulator__InvalidRate", "0.02"));

        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = BrowserFactAttribute.ExecutablePath,
            Headless = true,
            Args = ChromiumArgs,
        });
        var page = await browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1400, Height = 1300 } });
        var errors = new List<string>();
        page.PageError += (_, error) => errors.Add(error);
        await page.GotoAsync(new Uri(consumer.BaseAddress, "/dashboard").ToString());

        // Numbers appear, then grow as orders arrive.
        var first = await WaitForKpiAsync(page, "orders", orders => orders > 0);
        await WaitForKpiAsync(page, "orders", orders => orders > first);
        Assert.True(await page.EvaluateAsync<bool>(
            "() => Chart.getChart('revenue-per-minute').data.datasets.length > 0 && Chart.getChart('monthly-sales').data.labels.length >= 3"));
        Assert.True(await page.Locator("#top-products tbody tr").CountAsync() > 0);
        Assert.True(await page.Locator("#top-customers tbody tr").CountAsync() > 0);

        // Once the orders stop and are all ingested, the page says what the API says, for the same window.
        await simulator.StopAsync(TimeSpan.FromSeconds(30));
        var ingested = await SettledIngestedAsync(consumer);
        await WaitForAsync(async () => await page.Locator("[data-health=ingested]").GetAttributeAsync("data-value") == ingested.ToString(CultureInfo.InvariantCulture),
            "the page's ingested count to catch up");
        var shown = await KpisAsync(page);
        var window = await page.Locator(".tiles").EvaluateAsync<string[]>("e => [e.dataset.from, e.dataset.to]");
        var summary = await consumer.GetJsonAsync(
            $"/api/analytics/summary?from={Uri.EscapeDataString(window[0])}&to={Uri.EscapeDataString(window[1])}");
        var current = summary.GetProperty("current");
        Assert.Equal(current.GetProperty("orders").GetInt64(), (long)shown["orders"]);
        Assert.Equal(current.GetProperty("units").GetInt64(), (long)shown["units"]);
        Assert.Equal(current.GetProperty("revenue").GetDecimal(), shown["revenue"]);
        Assert.Equal(current.GetProperty("averageOrderValue").GetDecimal(), shown["averageOrderValue"]);

        // Dead letters: the counts by reason are the API's, and one sent again from the page goes back to the orders topic.
        var byCode = (await consumer.GetJsonAsync("/api/dead-letters?limit=1")).GetProperty("byCode").EnumerateObject()
            .ToDictionary(p => p.Name, p => p.Value.GetInt32());
        Assert.NotEmpty(byCode);
        await page.ReloadAsync();
        await WaitForAsync(async () => await page.Locator("#dead-letter-codes tbody tr").CountAsync() == byCode.Count, "the dead-letter counts");
        var shownCodes = await page.Locator("#dead-letter-codes tbody tr").EvaluateAllAsync<string[][]>("rows => rows.map(r => [r.dataset.code, r.dataset.count])");
        Assert.Equal(byCode, shownCodes.ToDictionary(c => c[0], c => int.Parse(c[1], CultureInfo.InvariantCulture)));
        await page.Locator("#dead-letters tbody tr button:not([disabled])").First.ClickAsync();
        await WaitForAsync(async () => (await page.Locator("#replay-result").TextContentAsync())?.Contains("sent again", StringComparison.Ordinal) == true,
            "the replay's answer on the page");
        Assert.Empty(errors);

        if (Environment.GetEnvironmentVariable("ECOMMERCE_SCREENSHOTS") is { Length: > 0 } folder)
        {
            await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(folder, "sales-dashboard.png"), FullPage = true });
        }
    }

    private static async Task<decimal> WaitForKpiAsync(IPage page, string name, Func<decimal, bool> condition)
    {
        decimal value = 0;
        await WaitForAsync(async () => (await KpisAsync(page)).TryGetValue(name, out value) && condition(value), $"the {name} tile");
        return value;
    }

    private static async Task<Dictionary<string, decimal>> KpisAsync(IPage page)
    {
        var values = await page.Locator("[data-kpi]").EvaluateAllAsync<string[][]>("all => all.map(e => [e.dataset.kpi, e.dataset.value])");
        return values.Where(v => !string.IsNullOrEmpty(v[1]))
            .ToDictionary(v => v[0], v => decimal.Parse(v[1], NumberStyles.Float, CultureInfo.InvariantCulture));
    }

    /// <summary>
    /// The ingested count once every partition is read and committed to its end (no lag left): final, unlike a count
    /// that merely stood still for a moment, which a slow batch on a busy machine can fake.
    /// </summary>
    private static async Task<long> SettledIngestedAsync(ServiceProcess consumer)
    {
        var status = await consumer.WaitForStatusAsync("/api/ingestion/status", CaughtUp, TimeSpan.FromSeconds(90), "no lag left");
        return status.GetProperty("ingested").GetInt64();
    }

    private static async Task WaitForAsync(Func<Task<bool>> condition, string what)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(90);
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Timed out waiting for {what}.");
            }

            await Task.Delay(250);
        }
    }
}
