DROP INDEX indicators_feed_added;
