mod crypt;
