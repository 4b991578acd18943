using Ecommerce.Consumer.Analytics;
using Ecommerce.Consumer.Ingestion;

// The ingestion service: reads orders from Kafka into the star-schema warehouse, exactly once, and answers the
// analytics questions over HTTP.
var builder = WebApplication.CreateBuilder(args);

builder.AddServiceDefaults();
builder.AddOrderIngestion();
builder.AddAnalytics();

var app = builder.Build();

app.MapDefaultEndpoints();
app.MapIngestionStatus();
app.MapAnalytics();

app.Run();
