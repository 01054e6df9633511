// C++ in the HRT (built with mv-c++): iostream, exceptions (unwinding), STL.
#include <iostream>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

static int thrower(int n)
{
	if (n > 2)
		throw std::runtime_error("deep " + std::to_string(n));
	return thrower(n + 1);
}

int main()
{
	int fails = 0;
	std::vector<std::string> v;
	for (int i = 0; i < 100; i++)
		v.push_back(std::to_string(i * i));
	std::map<std::string, int> m;
	for (auto &s : v)
		m[s]++;
	if (m.size() != 100 || v[99] != "9801") {
		std::cout << "FAIL containers" << std::endl;
		fails++;
	} else
		std::cout << "ok containers" << std::endl;
	try {
		thrower(0);
		std::cout << "FAIL no exception" << std::endl;
		fails++;
	} catch (const std::exception &e) {
		std::cout << "ok caught: " << e.what() << std::endl;
	}
	std::cout << (fails ? "FAIL" : "PASS") << " t_cxx" << std::endl;
	return fails ? 1 : 0;
}
