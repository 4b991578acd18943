using Ecommerce.Consumer.Analytics;
using Ecommerce.Consumer.DeadLetters;
using Ecommerce.Consumer.Ingestion;

// The ingestion service: reads orders from Kafka into the star-schema warehouse, exactly once, and answers the
// analytics questions over HTTP.
try
{
    var builder = WebApplication.CreateBuilder(args);

    builder.AddServiceDefaults();
    builder.AddOrderIngestion();
    builder.AddAnalytics();
    builder.AddDeadLetters();

    var app = builder.Build();

    app.UseDefaultFiles();
    app.UseStaticFiles(); // The sales dashboard (wwwroot/dashboard) and the chart library it uses.
    app.MapDefaultEndpoints();
    app.MapIngestionStatus();
    app.MapAnalytics();
    app.MapDeadLetters();

    app.Run();
    return Environment.ExitCode;
}
catch (InvalidOperationException ex)
{
    // Settings are checked while the service is put together; say which one is wrong, without a crash dump.
    Console.Error.WriteLine($"Ecommerce.Consumer cannot start: {ex.Message}");
    return 1;
}
