DROP INDEX indicators_cc;
DROP INDEX indicators_asn;
